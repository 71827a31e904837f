"""The plan: its JSON schema, a defensive parser for untrusted replies, and the local planner.

A plan is data. Its guidance is shown to the local model as quoted advice and its sub-queries are only
ever embedded and searched: nothing in a plan can start a request, pick a tool or reach a record.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from assistant.errors import AssistantError
from models.base import GREEDY, ChatModel, Message, SamplingParams
from models.errors import ModelError

MAX_SUB_QUERIES = 5
MAX_REPLY_CHARS = 8_000
MAX_GUIDANCE_CHARS = 1_500
MAX_QUERY_CHARS = 200

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "guidance": {"type": "string"},
        "sub_queries": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": MAX_SUB_QUERIES,
        },
    },
    "required": ["guidance", "sub_queries"],
    "additionalProperties": False,
}

PLANNER_SYSTEM = (
    "You plan how to answer a question from a person's private records, which you cannot see. "
    "Personal details in the question are replaced by placeholders such as <PERSON_1>; keep them as "
    "they are. Reply with one JSON object: "
    '{"guidance": "step-by-step advice for a small model that will read the records", '
    '"sub_queries": ["1 to 5 short search queries that would find the relevant records"]}.'
)


class PlanError(AssistantError):
    """A plan reply could not be used; the pipeline falls back to the local planner."""


def _clean(text: str) -> str:
    """Drop control and format characters (ANSI escapes, bidi overrides) a hostile reply could carry."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C").strip()


def _first_object(text: str) -> Any:
    """The first JSON object in `text`: tolerates code fences and prose around it."""
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise PlanError("The plan reply holds no JSON object.", "The local planner was used instead.")


def parse_plan(content: Any) -> tuple[str, tuple[str, ...]]:
    """(guidance, sub_queries) from a reply's content (a string or an already-parsed object).

    Raises:
        PlanError: oversized, not JSON, missing keys, wrong types, 0 or more than 5 sub-queries.
    """
    if isinstance(content, str):
        if len(content) > MAX_REPLY_CHARS:
            raise PlanError(f"The plan reply is too large ({len(content)} characters).", "")
        content = _first_object(content)
    if not isinstance(content, dict):
        raise PlanError("The plan is not a JSON object.", "")
    guidance, queries = content.get("guidance"), content.get("sub_queries")
    if not isinstance(guidance, str):
        raise PlanError("The plan has no text 'guidance'.", "")
    if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
        raise PlanError("The plan's 'sub_queries' is not a list of strings.", "")
    queries = [_clean(q) for q in queries if q.strip()]
    if not 1 <= len(queries) <= MAX_SUB_QUERIES:
        raise PlanError(f"The plan has {len(queries)} sub-queries; 1 to {MAX_SUB_QUERIES} are allowed.", "")
    if any(len(q) > MAX_QUERY_CHARS for q in queries):
        raise PlanError(f"A sub-query is longer than {MAX_QUERY_CHARS} characters.", "")
    return _clean(guidance)[:MAX_GUIDANCE_CHARS], tuple(queries)


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def drop_template_echoes(
    guidance: str, queries: Sequence[str], question: str, template: str = PLANNER_SYSTEM
) -> tuple[str, tuple[str, ...]]:
    """Remove what a weak local model copied from the planner prompt instead of planning.

    A sub-query or guidance whose words all appear, in order, in the prompt's template says nothing
    about the question (nor does guidance that only repeats the question); searching for it only adds
    noise. With no sub-query left, the question itself is the search.
    """
    words = _words(template)
    kept = tuple(q for q in queries if (w := _words(q)) and w not in words)
    echo = _words(guidance) in words or _words(guidance) in _words(question)
    return ("" if echo else guidance), (kept or (question,))


def local_plan(
    model: ChatModel, question: str, history: Sequence[str] = (), *, max_tokens: int = 256
) -> tuple[str, tuple[str, ...]]:
    """The same plan shape from the local model, constrained to PLAN_SCHEMA.

    Raises:
        PlanError: the model's output did not give a usable plan.
    """
    context = "".join(f"Earlier question: {h}\n" for h in history[-3:])
    messages = [
        Message("system", PLANNER_SYSTEM),
        Message("user", f"{context}Question: {question}"),
    ]
    params = SamplingParams(**{**GREEDY.__dict__, "max_tokens": max_tokens})
    try:
        raw = model.complete_json(messages, PLAN_SCHEMA, params)
    except ModelError as exc:
        raise PlanError(f"The local planner failed: {exc.message}", "") from exc
    guidance, queries = parse_plan(raw)
    return drop_template_echoes(guidance, queries, question)


# Measured (docs/bench/latency.md, `bench/latency.py --plan-eval`): on no question kind of the
# evaluation corpus did the local sub-queries raise recall@5 over the question alone, and each costs
# a model call (about 2 s on 2 cores). So `auto` does not plan on the device; the remote plan, when
# configured, is still used.
AUTO_LOCAL_PLAN = False


def plan_locally(mode: str) -> bool:
    """Whether the local planner runs, for ASSISTANT_LOCAL_PLAN = "always" | "never" | "auto"."""
    return mode == "always" or (mode == "auto" and AUTO_LOCAL_PLAN)
