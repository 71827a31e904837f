"""The llama.cpp backend with a KV budget: chats longer than the context keep going in bounded memory.

The conversation lives in the KV cache across turns: each turn decodes only what is new after the
longest common prefix with everything fed so far, and the cache never holds more than the budget
plus one block and one batch. The system prompt's blocks are never evicted.
"""

from __future__ import annotations

import codecs
import contextlib
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from models.base import CancelToken, Message, SamplingParams, StreamStats, TokenDelta
from models.errors import ModelConfigError, ModelError, ObserverUnavailable
from models.eviction.methods import METHODS
from models.llamacpp import LlamaCppModel
from models.llamacpp_kv.native import NormObserver
from models.llamacpp_kv.runtime import KVRuntime

if TYPE_CHECKING:
    from models.registry import ModelOptions, ResolvedModel


@contextlib.contextmanager
def _observing(observer: NormObserver | None) -> Iterator[None]:
    """Create the next llama.cpp context with the observer's cb_eval (Llama() takes no argument)."""
    from llama_cpp import llama_cpp as C

    original = C.llama_context_default_params
    if observer is None:
        yield
        return

    def patched() -> Any:
        params = original()
        params.cb_eval, params.cb_eval_user_data = observer.callback()
        return params

    C.llama_context_default_params = patched
    try:
        yield
    finally:
        C.llama_context_default_params = original


class StopScanner:
    """Holds back just enough streamed text to catch a stop string split across tokens."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.pending = ""

    def push(self, text: str) -> tuple[str, bool]:
        """(text safe to emit, whether a stop string was found)."""
        self.pending += text
        hits = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.pending = self.pending[: min(hits)], ""
            return out, True
        cut = max(0, len(self.pending) - self.hold)
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out, False

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


class EvictingLlamaCppModel(LlamaCppModel):
    """A GGUF model on llama.cpp whose KV cache holds at most `kv_budget` tokens per conversation.

    Args:
        n_ctx: the logical context window reported to callers (prompt planning).
        kv_budget: KV tokens kept; the llama.cpp context is sized budget + block + batch.
        kv_policy: paged | inverse_key | streaming | context_shift | none ("none" = the plain backend).
        native: K/V observer: True = C helper (error if it cannot compile), False = Python, None = auto.
    """

    backend_name = "llamacpp"

    def __init__(
        self,
        path: Path,
        *,
        kv_budget: int,
        kv_policy: str = "paged",
        n_ctx: int = 4096,
        block_size: int = 16,
        batch: int = 256,
        native: bool | None = None,
        record: bool = False,
        **kwargs: Any,
    ) -> None:
        method = METHODS.get(kv_policy)
        if method is None:
            raise ModelConfigError(f"Unknown KV policy {kv_policy!r}.", f"Use one of: {', '.join(METHODS)}.")
        if not isinstance(kv_budget, int) or kv_budget < 2 * block_size:
            raise ModelError(
                f"A KV budget of {kv_budget!r} tokens is too small.",
                f"Use a kv_budget of at least {2 * block_size} tokens (256 or more is sensible).",
            )
        self.kv_policy = kv_policy
        self.kv_budget = kv_budget
        self._window = n_ctx
        observer = None
        if method.needs_scores:
            try:
                observer = NormObserver(native)
            except (OSError, RuntimeError) as exc:  # never fall back to position-only eviction silently
                raise ObserverUnavailable(
                    f"The K/V observer that {kv_policy!r} eviction needs is unavailable: {exc}",
                    "Use a score-free KV policy (streaming, context_shift or none), or fix the observer.",
                ) from exc
        self._observer = observer  # must outlive the context that calls it
        cells = n_ctx if not method.evicts else kv_budget + block_size + batch
        with _observing(observer):
            super().__init__(path, n_ctx=cells, n_batch=batch, n_ubatch=batch, **kwargs)
        from llama_cpp import llama_cpp as C

        if observer is not None:
            model = self.llm.model
            observer.configure(C.llama_model_n_layer(model), C.llama_model_n_head_kv(model), batch)
        self.runtime = KVRuntime(self.llm, observer, kv_policy, kv_budget, block_size, record=record)
        self._formatter = self._chat_formatter()

    @classmethod
    def from_options(
        cls, resolved: ResolvedModel, options: ModelOptions, **kwargs: Any
    ) -> EvictingLlamaCppModel:
        kwargs["kv_budget"] = int(kwargs.pop("kv_budget", options.kv_budget or 0))
        kwargs["kv_policy"] = str(kwargs.pop("kv_policy", options.kv_policy))
        return super().from_options(resolved, options, **kwargs)  # type: ignore[return-value]

    @property
    def context_window(self) -> int:
        return self._window

    def _chat_formatter(self) -> Any:
        from llama_cpp import llama_chat_format

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            return llama_chat_format.format_chatml
        model = self.llm._model
        eos, bos = self.llm.token_eos(), self.llm.token_bos()
        return llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )

    def render(self, messages: Sequence[Message]) -> tuple[list[int], list[str], int]:
        """Prompt tokens, the template's stop strings, and how many leading tokens to protect."""
        msgs = [{"role": m.role, "content": m.content} for m in messages]
        try:
            result = self._formatter(messages=msgs)
            tokens = self._tokenize(result)
            protected = 0
            if messages and messages[0].role == "system":
                head = self._tokenize(self._formatter(messages=msgs[:1]))
                while protected < min(len(head), len(tokens)) and head[protected] == tokens[protected]:
                    protected += 1
        except Exception as exc:  # jinja and the tokenizer raise assorted errors
            raise ModelError(
                f"Could not format the chat for llama.cpp: {exc}", "Check the messages."
            ) from exc
        stops = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return tokens, stops, protected

    def _tokenize(self, result: Any) -> list[int]:
        return list(
            self.llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        )

    def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams = SamplingParams(),
        *,
        json_schema: dict[str, Any] | None = None,
        cancel: CancelToken | None = None,
        stats: StreamStats | None = None,
    ) -> Iterator[TokenDelta]:
        if not METHODS[self.kv_policy].evicts:
            yield from super().stream(messages, params, json_schema=json_schema, cancel=cancel, stats=stats)
            return
        stats = stats if stats is not None else StreamStats()
        tokens, template_stops, protected = self.render(messages)
        stats.prompt_tokens, stats.trimmed = len(tokens), False
        grammar = self._grammar(json_schema) if json_schema is not None else None
        with self._lock:
            yield from self._generate(tokens, protected, params, grammar, cancel, stats, template_stops)

    def _generate(
        self,
        tokens: list[int],
        protected: int,
        params: SamplingParams,
        grammar: Any,
        cancel: CancelToken | None,
        stats: StreamStats,
        template_stops: list[str],
    ) -> Iterator[TokenDelta]:
        from llama_cpp import llama_cpp as C

        rt = self.runtime
        llm = self.llm
        llm.set_seed(params.seed if params.seed is not None else random.randrange(2**31))
        sampler = llm._init_sampler(
            top_k=params.top_k,
            top_p=params.top_p,
            temp=params.temperature,
            repeat_penalty=params.repeat_penalty,
            grammar=grammar,
        )
        scanner = StopScanner([*params.stop, *template_stops])
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        finish: Literal["stop", "length", "cancelled"] = "length"
        hit = False
        try:
            rt.feed(rt.sync(tokens, protected))
            for n in range(params.max_tokens):
                if cancel is not None and cancel.cancelled:
                    finish = "cancelled"
                    break
                token = sampler.sample(llm._ctx, -1)
                if C.llama_vocab_is_eog(llm._model.vocab, token):
                    finish = "stop"
                    break
                stats.completion_tokens += 1
                text, hit = scanner.push(decoder.decode(llm.detokenize([token])))
                if text:
                    yield TokenDelta(text)
                if hit:
                    finish = "stop"
                    break
                if n + 1 < params.max_tokens:
                    rt.feed([token])
            tail = ""
            if finish != "cancelled" and not hit:
                tail, _ = scanner.push(decoder.decode(b"", final=True))
                tail += scanner.flush()
            stats.extra["kv"] = self.kv_summary()
            yield TokenDelta(tail, finish)
        finally:
            sampler.close()

    def kv_summary(self) -> dict[str, Any]:
        s = self.runtime.stats
        return {
            "policy": self.kv_policy,
            "budget": self.kv_budget,
            "cached_tokens": self.runtime.n_cached,
            "fed_tokens": len(self.runtime.history),
            "evicted_tokens": s.evicted_tokens,
            "peak_cells": s.peak_cells,
            "cells": self.runtime.cells,
            "scoring": "native"
            if self._observer and self._observer.native
            else "python"
            if self._observer
            else "none",
        }

    def close(self) -> None:
        super().close()
        if self._observer is not None:
            self._observer.close()
