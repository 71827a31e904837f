"""Runs the scenarios the vLLM tests check, one engine at a time (startup dominates the cost)."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BLOCK = 32
BUDGET = 64
POOL_BLOCKS = 24  # 768 tokens: a long sequence fits alone, six long ones only with eviction
MAX_MODEL_LEN = 512


def tiny_llama(path: Path) -> Path:
    """A random-weight Llama in Hugging Face format (head_dim 64: the CPU build refuses 16)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if not (path / "config.json").is_file():
        torch.manual_seed(0)
        config = LlamaConfig(
            vocab_size=256,
            hidden_size=128,
            intermediate_size=256,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=64,
            max_position_embeddings=1024,
            bos_token_id=1,
            eos_token_id=2,
        )
        LlamaForCausalLM(config).save_pretrained(path)
    return path


def prompt(seed: int, n: int) -> list[int]:
    return [int(t) for t in np.random.default_rng(seed).integers(3, 250, n)]


SCENARIOS: dict[str, tuple[list[list[int]], int]] = {
    "short": ([prompt(1, 20)], 40),  # 59 cached tokens: within the budget
    "long": ([prompt(2, 150)], 300),  # prefill eviction, then ~7 decode evictions
    "concurrent": ([prompt(10 + i, 40) for i in range(6)], 330),
}


@dataclass
class EngineRun:
    tokens: dict[str, list[list[int]]] = field(default_factory=dict)
    req_ids: dict[str, list[str]] = field(default_factory=dict)  # engine-internal ids, per scenario
    log_dir: Path | None = None


def run_engine(model: Path, log_dir: Path, budget: int | None) -> EngineRun:
    from vllm import LLM, SamplingParams

    from models.vllm_eviction import engine_kwargs

    llm = LLM(
        model=str(model),
        skip_tokenizer_init=True,
        enforce_eager=True,
        dtype="float32",
        seed=0,
        max_model_len=MAX_MODEL_LEN,
        num_gpu_blocks_override=POOL_BLOCKS,
        **engine_kwargs(budget, "paged", BLOCK, log_dir=str(log_dir)),
    )
    run = EngineRun(log_dir=log_dir)
    try:
        for name, (prompts, max_tokens) in SCENARIOS.items():
            params = SamplingParams(temperature=0, max_tokens=max_tokens, ignore_eos=True, detokenize=False)
            outs = llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False)
            run.tokens[name] = [list(o.outputs[0].token_ids) for o in outs]
            run.req_ids[name] = [o.request_id for o in outs]
    finally:
        _shutdown(llm)
    return run


def _shutdown(llm: Any) -> None:
    engine = getattr(llm, "llm_engine", None)
    core = getattr(engine, "engine_core", None)
    if core is not None and hasattr(core, "shutdown"):
        core.shutdown()
    del llm
    gc.collect()
