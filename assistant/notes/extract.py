"""Chunked, schema-guided extraction: every chunk of the conversation fits the context window whole.

A transcript longer than the window is split on turn boundaries (one turn of overlap) and each chunk
is asked one question per note field; nothing is truncated. Output is constrained by a JSON schema
(a llama.cpp grammar) and parsed defensively: a reply cut off mid-list keeps its complete items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.errors import InputError
from assistant.notes.sections import (
    FIELDS,
    SYSTEM_PROMPT,
    Field,
    field_schema,
    user_prompt,
    worst_case_tokens,
)
from assistant.notes.transcript import Turn
from models.base import ChatModel, Message, SamplingParams
from models.context import PER_MESSAGE_OVERHEAD, output_budget

PROMPT_MARGIN = 64  # chat-template tokens beyond the per-message estimate, with room to spare
MIN_CHUNK_TOKENS = 96
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class ExtractOptions:
    """Knobs for one note; the defaults suit a 1B model with a 4k window."""

    max_items: int = 4  # per field and chunk, capped by each field's own ceiling
    max_chars: int = 160  # longest statement
    chunk_tokens: int = 3072  # conversation tokens per chunk (lowered to what the window allows)
    seed: int = 0
    repeat_penalty: float = 1.15

    def __post_init__(self) -> None:
        if not 1 <= self.max_items <= 10:
            raise InputError("--max-items must be between 1 and 10.", "Pick a smaller number.")
        if not 16 <= self.max_chars <= 400:
            raise InputError("--max-chars must be between 16 and 400.", "Pick a value such as 160.")
        if self.chunk_tokens < MIN_CHUNK_TOKENS:
            raise InputError(
                f"--chunk-tokens must be at least {MIN_CHUNK_TOKENS}.", "Use the default (3072)."
            )


@dataclass
class ExtractStats:
    """What happened, for the bench and `--json`: counts only, never note text."""

    chunks: int = 0
    calls: int = 0
    repaired: int = 0  # replies that were cut off or malformed and were salvaged
    trimmed: int = 0  # prompts the backend had to shorten (should stay 0: chunks are sized to fit)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    per_chunk_tokens: list[int] = field(default_factory=list)


def field_limits(spec: Field, options: ExtractOptions) -> tuple[int, int]:
    return min(spec.max_items, options.max_items), options.max_chars


def chunk_budget(model: ChatModel, options: ExtractOptions) -> int:
    """Conversation tokens one chunk may hold so that prompt plus the longest reply fit the window."""
    window = model.context_window
    reply = max(worst_case_tokens(*field_limits(f, options)) for f in FIELDS)
    fixed = model.count_tokens(SYSTEM_PROMPT) + max(
        model.count_tokens(user_prompt("", f.question, " (part 10 of 10)")) for f in FIELDS
    )
    room = window - output_budget(window, reply) - fixed - 2 * PER_MESSAGE_OVERHEAD - PROMPT_MARGIN
    if room < MIN_CHUNK_TOKENS:
        raise InputError(
            f"The model's context window ({window} tokens) is too small for note generation.",
            "Raise ASSISTANT_N_CTX (e.g. 4096) or lower --max-items / --max-chars.",
        )
    return min(options.chunk_tokens, room)


def chunk_turns(turns: Sequence[Turn], budget: int, count_tokens: Callable[[str], int]) -> list[str]:
    """Pack turns into chunks of at most `budget` tokens, splitting any turn that is larger alone.

    Each chunk after the first repeats the previous chunk's last turn (if it fits) so a question and
    its answer are not separated.
    """
    pieces: list[tuple[str, int]] = []
    for turn in turns:
        line = turn.render()
        size = count_tokens(line) + 1
        if size <= budget:
            pieces.append((line, size))
        else:
            pieces.extend(_split_long(line, budget, count_tokens))
    chunks: list[list[tuple[str, int]]] = [[]]
    used = 0
    for piece in pieces:
        if chunks[-1] and used + piece[1] > budget:
            last = chunks[-1][-1]
            chunks.append([last] if last[1] + piece[1] <= budget // 2 else [])
            used = sum(p[1] for p in chunks[-1])
        chunks[-1].append(piece)
        used += piece[1]
    return ["\n".join(p[0] for p in chunk) for chunk in chunks if chunk]


def _split_long(line: str, budget: int, count_tokens: Callable[[str], int]) -> list[tuple[str, int]]:
    """Cut one oversized turn at word boundaries; linear in its length (words are counted one by one)."""
    out: list[tuple[str, int]] = []
    current: list[str] = []
    used = 1
    words = [w[i : i + 64] for w in line.split() for i in range(0, len(w), 64)]  # no piece over budget
    for word in words:
        size = count_tokens(f" {word}")
        if current and used + size > budget:
            text = " ".join(current)
            out.append((text, count_tokens(text) + 1))
            current, used = [], 1
        current.append(word)
        used += size
    if current:
        text = " ".join(current)
        out.append((text, count_tokens(text) + 1))
    return out


def parse_items(text: str) -> tuple[list[str], bool]:
    """The statements in a reply, and whether it needed salvaging (cut off or not valid JSON)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return [s for s in data["items"] if isinstance(s, str)], False
    body = text.split("[", 1)[1] if "[" in text else ""
    salvaged = []
    for raw in _STRING.findall(body):
        try:
            salvaged.append(json.loads(f'"{raw}"'))
        except json.JSONDecodeError:
            continue
    return salvaged, True


def clean_items(items: Sequence[str], question: str) -> list[str]:
    """Drop empty, letterless, repeated and question-echo statements; tidy whitespace and case."""
    out: list[str] = []
    seen: set[str] = set()
    asked = _norm(question)
    for item in items:
        text = " ".join(item.split()).strip(" -*•\"'")
        key = _norm(text)
        if sum(ch.isalpha() for ch in text) < 3 or key in seen or (key and key in asked):
            continue
        seen.add(key)
        out.append(text[0].upper() + text[1:])
    return out


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def extract_chunk(
    model: ChatModel,
    chunk: str,
    part: str,
    options: ExtractOptions,
    stats: ExtractStats,
) -> dict[str, list[str]]:
    """Ask each field's question about one chunk; returns field key -> statements."""
    found: dict[str, list[str]] = {}
    for spec in FIELDS:
        max_items, max_chars = field_limits(spec, options)
        params = SamplingParams(
            max_tokens=worst_case_tokens(max_items, max_chars),
            temperature=0.0,
            top_k=1,
            repeat_penalty=options.repeat_penalty,
            seed=options.seed,
        )
        messages = [
            Message("system", SYSTEM_PROMPT),
            Message("user", user_prompt(chunk, spec.question, part)),
        ]
        done = model.complete(messages, params, json_schema=field_schema(max_items, max_chars))
        items, repaired = parse_items(done.text)
        stats.calls += 1
        stats.repaired += int(repaired or done.finish_reason != "stop")
        stats.trimmed += int(done.trimmed)
        stats.prompt_tokens += done.prompt_tokens
        stats.completion_tokens += done.completion_tokens
        found[spec.key] = clean_items(items[:max_items], spec.question)
    return found
