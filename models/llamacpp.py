"""llama.cpp backend: streams on CPU, grammar-constrained JSON, chat template from the GGUF."""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.base import (
    CancelToken,
    ChatModel,
    Message,
    SamplingParams,
    StreamStats,
    TokenDelta,
)
from models.context import PER_MESSAGE_OVERHEAD, fit_messages, output_budget
from models.errors import ModelError, ModelFileMissing

if TYPE_CHECKING:
    from models.registry import ModelOptions, ResolvedModel

GGUF_MAGIC = b"GGUF"
TEMPLATE_MARGIN = 32  # chat-template tokens not covered by the per-message estimate
LAX_JSON_CHAR = 'char ::= [^"\\\\] |'
STRICT_JSON_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'
LOCK_TIMEOUT_S = 30.0  # one reply at a time per model; a second caller waits this long


_PARAMS_PATCH_LOCK = threading.Lock()
AMX_IN_BUILD = re.compile(r"AMX_INT8\s*=\s*1")


def load_llama_cpp() -> Any:
    """Import llama_cpp, first asking OpenMP to sleep rather than spin while it waits.

    llama.cpp's threads meet at an OpenMP barrier for every graph node; libgomp's default spin
    there turned a 0.5 s reply into 47 s on a busy 2-core machine (FINDINGS, docs/bench/local_model.md).
    libgomp reads the variable when it loads, so this must run before the first `import llama_cpp`;
    a value the user set wins.
    """
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    import llama_cpp

    return llama_cpp


def extra_buffer_types_safe(system_info: str | None = None) -> bool:
    """Whether llama.cpp's extra buffer types may be used.

    They hold the AMX matmul path, which SIGSEGVs on the first decode on AMX CPUs (FINDINGS), and the
    AVX2/AVX-512 weight repacking, which speeds up Q4_0/Q4_K models. The AMX type exists only in
    builds compiled with AMX (`-march=native` on an AMX machine), so only those lose the repacking.
    """
    if system_info is None:
        system_info = load_llama_cpp().llama_print_system_info().decode("utf-8", "replace")
    return AMX_IN_BUILD.search(system_info) is None


@contextlib.contextmanager
def _extra_buffer_types(enabled: bool) -> Iterator[None]:
    """Load with `use_extra_bufts = enabled` in the model params.

    `Llama()` takes no argument for it and builds its params with
    `llama_cpp.llama_cpp.llama_model_default_params()` (the submodule, not the package re-export),
    so that function is swapped for the load only; `LlamaCppModel.llm.model_params` shows the result.
    """
    import llama_cpp.llama_cpp as low

    with _PARAMS_PATCH_LOCK:
        original = low.llama_model_default_params

        def patched() -> Any:
            params = original()
            params.use_extra_bufts = enabled
            return params

        low.llama_model_default_params = patched
        try:
            yield
        finally:
            low.llama_model_default_params = original


def check_gguf(path: Path) -> None:
    """Fail with a clear message before llama.cpp sees a file that is not a GGUF model."""
    if not path.is_file():
        raise ModelFileMissing(f"Model file not found: {path}", "Check the path, or use a catalog model.")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{path.name} is not a GGUF model file (corrupt or wrong format).",
            "Delete it and download it again.",
        )


class LlamaCppModel(ChatModel):
    """A GGUF model run by llama.cpp on the CPU."""

    backend_name = "llamacpp"

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = 4096,
        threads: int | None = None,
        name: str | None = None,
        demo_quality: bool = False,
        **llama_kwargs: Any,
    ) -> None:
        check_gguf(path)
        try:
            Llama = load_llama_cpp().Llama  # noqa: N806 - the library's class name
        except ImportError as exc:
            raise ModelError(
                "llama-cpp-python is not installed.",
                "Install it: CMAKE_ARGS='-DGGML_NATIVE=OFF' pip install llama-cpp-python",
            ) from exc
        threads = threads or os.cpu_count() or 2
        self.path = path
        self.name = name or path.stem
        self.demo_quality = demo_quality
        self._lock = threading.Lock()
        try:
            with _extra_buffer_types(extra_buffer_types_safe()):
                self.llm = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                    **llama_kwargs,
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"llama.cpp could not load {path.name}: {exc}",
                "The file may be truncated or corrupt: download it again.",
            ) from exc
        self._formatter = self._gguf_chat_template()
        self.evaluated_tokens = 0  # tokens llama.cpp actually evaluated (a reused prefix is not)
        self.last_eval_s = 0.0
        self._count_evaluations()

    def _count_evaluations(self) -> None:
        """Count the tokens each `Llama.eval` call evaluates, and time it.

        llama-cpp-python keeps the KV cache of the previous prompt and evaluates only what follows
        the longest common token prefix, so a prompt whose fixed part comes first (system prompt and
        instructions) pays for that part once; this counter is how tests and the bench see it.
        """
        evaluate = self.llm.eval

        def counted(tokens: Sequence[int]) -> None:
            start = time.perf_counter()
            evaluate(tokens)
            self.evaluated_tokens += len(tokens)
            self.last_eval_s = time.perf_counter() - start

        self.llm.eval = counted  # type: ignore[method-assign]

    def _gguf_chat_template(self) -> Any:
        """Use the GGUF's own chat template (not a built-in guess), and keep a renderer for counting."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template or "chat_template.default" not in self.llm._chat_handlers:
            return None
        self.llm.chat_format = "chat_template.default"
        vocab = self.llm._model
        eos, bos = self.llm.token_eos(), self.llm.token_bos()
        return Jinja2ChatFormatter(
            template=template,
            eos_token=vocab.token_get_text(eos) if eos != -1 else "",
            bos_token=vocab.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )

    @classmethod
    def from_options(cls, resolved: ResolvedModel, options: ModelOptions, **kwargs: Any) -> LlamaCppModel:
        return cls(
            resolved.path,
            n_ctx=int(kwargs.pop("n_ctx", options.n_ctx)),
            threads=options.threads,
            name=resolved.name,
            demo_quality=resolved.bundled,
            **kwargs,
        )

    @property
    def context_window(self) -> int:
        return int(self.llm.n_ctx())

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams = SamplingParams(),
        *,
        json_schema: dict[str, Any] | None = None,
        cancel: CancelToken | None = None,
        stats: StreamStats | None = None,
    ) -> Iterator[TokenDelta]:
        stats = stats if stats is not None else StreamStats()
        fitted, reply_budget = self._fit(messages, params.max_tokens, stats)
        grammar = self._grammar(json_schema) if json_schema is not None else None
        if not self._lock.acquire(timeout=LOCK_TIMEOUT_S):
            raise ModelError(
                "The local model is still busy with another reply.",
                "Cancel the other reply (or close its iterator) first.",
            )
        try:
            chunks = self.llm.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in fitted],
                stream=True,
                max_tokens=reply_budget,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=params.top_k,
                repeat_penalty=params.repeat_penalty,
                seed=params.seed,
                stop=list(params.stop) or None,
                grammar=grammar,
            )
            before = self.evaluated_tokens
            try:
                first = True
                for delta in self._deltas(chunks, cancel, stats):
                    if first:  # the prompt has been evaluated by now: record what it cost
                        stats.extra["evaluated_prompt_tokens"] = self.evaluated_tokens - before
                        stats.extra["prompt_eval_s"] = self.last_eval_s
                        first = False
                    yield delta
            except ValueError as exc:  # llama-cpp-python reports context overflow this way
                raise ModelError(
                    f"The local model failed: {exc}", "Shorten the input, or use a larger n_ctx."
                ) from exc
            finally:
                close = getattr(chunks, "close", None)
                if close:
                    close()
        finally:
            self._lock.release()

    def prompt_tokens(self, messages: Sequence[Message]) -> int | None:
        """Exact prompt length after the chat template, when the GGUF has one."""
        ids = self._prompt_ids(messages)
        return None if ids is None else len(ids)

    def _prompt_ids(self, messages: Sequence[Message]) -> list[int] | None:
        """The prompt's tokens as llama.cpp will evaluate them (GGUF chat template), if it has one."""
        if self._formatter is None:
            return None
        rendered = self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages])
        text = rendered.prompt.encode("utf-8")
        return list(self.llm.tokenize(text, add_bos=not rendered.added_special, special=True))

    def prime(self, messages: Sequence[Message]) -> None:
        """Evaluate `messages` (a fixed system prompt) into the KV cache: llama-cpp-python reuses the
        longest common token prefix of the next prompt, so the next reply skips this part."""
        tokens = self._prompt_ids(messages)
        if tokens is None:
            return
        with self._lock:
            self.llm.reset()
            self.llm.eval(tokens)

    def _fit(
        self, messages: Sequence[Message], max_tokens: int, stats: StreamStats
    ) -> tuple[list[Message], int]:
        """Trim the conversation so prompt plus reply fit the window; checked on the exact prompt."""
        window = self.context_window
        reply_budget = output_budget(window, max_tokens)
        margin = TEMPLATE_MARGIN
        trimmed_any = False
        for _ in range(4):
            fitted, trimmed = fit_messages(messages, window - reply_budget - margin, self.count_tokens)
            trimmed_any = trimmed_any or trimmed
            exact = self.prompt_tokens(fitted)
            estimate = sum(self.count_tokens(m.content) + PER_MESSAGE_OVERHEAD for m in fitted)
            stats.prompt_tokens = exact if exact is not None else estimate
            overflow = stats.prompt_tokens + reply_budget - window
            if exact is None or overflow <= 0:
                break
            margin += overflow + 8  # the template costs more than estimated: trim harder
        stats.trimmed = trimmed_any
        return fitted, reply_budget

    def _deltas(
        self, chunks: Iterator[Any], cancel: CancelToken | None, stats: StreamStats
    ) -> Iterator[TokenDelta]:
        for chunk in chunks:
            if cancel is not None and cancel.cancelled:
                yield TokenDelta("", "cancelled")
                return
            choice = chunk["choices"][0]
            text = choice.get("delta", {}).get("content") or ""
            finish = choice.get("finish_reason")
            if text:
                stats.completion_tokens += 1
            if text or finish:
                yield TokenDelta(text, "length" if finish == "length" else ("stop" if finish else None))
            if finish:
                return
        yield TokenDelta("", "stop")

    def _grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp import LlamaGrammar
        from llama_cpp.llama_grammar import json_schema_to_gbnf

        try:
            gbnf = json_schema_to_gbnf(json.dumps(schema))
        except Exception as exc:  # the converter raises bare exceptions on unsupported schemas
            raise ModelError(f"Unsupported JSON schema for llama.cpp: {exc}", "Simplify the schema.") from exc
        # llama-cpp-python's converter lets raw control characters (a newline) into strings, which
        # is not JSON; llama.cpp's own converter excludes them, as we do here.
        return LlamaGrammar.from_string(gbnf.replace(LAX_JSON_CHAR, STRICT_JSON_CHAR), verbose=False)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.llm.close()
