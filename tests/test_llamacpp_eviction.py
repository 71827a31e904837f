"""KV-budgeted llama.cpp on the real bundled SmolLM2: the cache holds what the policy chose."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from models.base import Message, SamplingParams, StreamStats
from models.errors import ModelError
from models.eviction import EvictionTracker, make_policy, make_tracker, token_scores
from models.llamacpp_kv import EvictingLlamaCppModel
from models.llamacpp_kv.model import StopScanner
from models.llamacpp_kv.state import read_seq_state

FILLER = (
    "Mira keeps bees behind the old mill. On Tuesdays she sells honey at the market, and the "
    "baker trades her two loaves for a jar. The river floods every spring, so the hives sit on "
    "stilts. Her brother Tomas fixes the fences and counts the sheep twice a day. "
)
BUDGET, BLOCK, BATCH = 128, 16, 64
# Tolerances for the logits after an eviction (SmolLM2-135M, logit range about 30): against the same
# cache with the evicted cells masked in place, the shift of positions (and the f16 re-rotation of
# keys) moved the logits by at most 2.7 (KL 0.007 nats); against a fresh evaluation of the kept tokens,
# KL up to 0.55 nats, because kept K/V were computed with the evicted tokens in context.
LOGIT_TOLERANCE = 4.0
MASKED_KL = 0.05
FRESH_KL = 1.0


def text_tokens(model: EvictingLlamaCppModel, n: int) -> list[int]:
    tokens = list(model.llm.tokenize((FILLER * 40).encode(), add_bos=False, special=False))
    assert len(tokens) >= n
    return tokens[:n]


def last_logits(llm: object) -> np.ndarray:
    from llama_cpp import llama_cpp as C

    ptr = C.llama_get_logits_ith(llm.ctx, -1)  # type: ignore[attr-defined]
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).copy()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def paged(bundled_gguf: Path) -> Iterator[EvictingLlamaCppModel]:
    model = EvictingLlamaCppModel(
        bundled_gguf,
        kv_budget=BUDGET,
        kv_policy="paged",
        block_size=BLOCK,
        batch=BATCH,
        threads=1,
        record=True,
    )
    yield model
    model.close()


@pytest.mark.slow
def test_cache_holds_exactly_the_policys_choice(paged: EvictingLlamaCppModel) -> None:
    rt = paged.runtime
    tokens = text_tokens(paged, 320)
    rt.reset(protected=20)
    rt.feed(tokens[:90])
    rt.feed(tokens[90:])
    assert rt.stats.evicted_tokens > 0 and rt.stats.unscored_tokens == 0
    assert paged._observer is not None and paged._observer.native

    # the policy's choice, replayed from the observed norms, is what the runtime kept
    recorded = rt.stats.recorded
    replay = EvictionTracker(make_policy("paged", BUDGET, BLOCK, sink_blocks=2))
    recency = make_tracker("streaming", BUDGET, BLOCK, protected=20)
    for pos in range(len(tokens)):
        k, v = recorded[pos]
        score = float(token_scores("paged", k[:, :, None], v[:, :, None])[0])
        replay.append(score, pos)
        recency.append(0.0, pos)
    assert rt.positions == replay.positions
    assert rt.positions != recency.positions  # the scores changed the choice
    assert rt.positions[:32] == list(range(32))  # the protected prefix (two blocks) stays
    assert rt.positions[-1] == len(tokens) - 1

    # llama.cpp's cache holds exactly those tokens, at positions 0..n-1 in that order
    state = read_seq_state(paged.llm)
    n = len(rt.positions)
    assert state.positions.tolist() == list(range(n))
    want_v = np.stack([recorded[p][1] for p in rt.positions], axis=2)
    want_k = np.stack([recorded[p][0] for p in rt.positions], axis=2)
    np.testing.assert_allclose(state.v_norm, want_v, rtol=3e-3, atol=1e-3)  # V: f16 rounding only
    np.testing.assert_allclose(state.k_norm, want_k, rtol=1e-2, atol=1e-2)  # K: also re-rotated
    # and Llama's own bookkeeping agrees
    assert paged.llm.n_tokens == n and rt.cache_pos_max() == n - 1
    assert paged.llm.input_ids[:n].tolist() == [tokens[p] for p in rt.positions]


def kl(ref: np.ndarray, got: np.ndarray) -> float:
    """KL(softmax(ref) || softmax(got)) in nats."""
    a, b = ref - ref.max(), got - got.max()
    a, b = a - np.log(np.exp(a).sum()), b - np.log(np.exp(b).sum())
    return float((np.exp(a) * (a - b)).sum())


@pytest.mark.slow
def test_logits_after_eviction_match_fresh_and_masked_evaluations(
    paged: EvictingLlamaCppModel, bundled_gguf: Path
) -> None:
    from llama_cpp import llama_cpp as C

    rt = paged.runtime
    tokens = text_tokens(paged, 260)
    rt.reset()
    rt.feed(tokens[:-1])
    assert rt.stats.evicted_tokens > 0
    kept_before = list(rt.positions)
    rt.feed(tokens[-1:])  # decoded after the eviction: its logits see only the kept cells
    got = last_logits(paged.llm)

    ref = EvictingLlamaCppModel(
        bundled_gguf, kv_budget=512, kv_policy="none", n_ctx=512, batch=BATCH, threads=1
    )
    try:
        # 1. a fresh evaluation of the kept tokens (what the cache stands for)
        ref.runtime.reset()
        ref.runtime.feed([tokens[p] for p in kept_before] + tokens[-1:])
        fresh = last_logits(ref.llm)
        # 2. the same K/V without eviction, the evicted cells masked out by removing them in place
        ref.runtime.reset()
        ref.runtime.feed(tokens[:-1])
        mem = C.llama_get_memory(ref.llm.ctx)
        for pos in sorted(set(range(len(tokens) - 1)) - set(kept_before)):
            assert C.llama_memory_seq_rm(mem, 0, pos, pos + 1)
        batch = ref.llm._batch
        batch.set_batch(batch=tokens[-1:], n_past=len(tokens) - 1, logits_all=False)
        ref.llm._ctx.decode(batch)
        masked = last_logits(ref.llm)
    finally:
        ref.close()
    assert int(np.argmax(got)) == int(np.argmax(fresh)) == int(np.argmax(masked))
    # kept tokens' K/V were computed while the evicted ones were present, which a fresh evaluation
    # cannot reproduce: measured KL 0.53 nats here (0.006-0.55 over lengths), hence the loose bound
    assert kl(fresh, got) <= FRESH_KL
    # against the same K/V merely masked, only the position shift differs: measured KL 0.007
    assert kl(masked, got) <= MASKED_KL
    assert float(np.max(np.abs(got - masked))) <= LOGIT_TOLERANCE


@pytest.mark.slow
def test_conversation_of_three_contexts_completes(bundled_gguf: Path) -> None:

    model = EvictingLlamaCppModel(
        bundled_gguf, kv_budget=BUDGET, kv_policy="paged", block_size=BLOCK, batch=BATCH, threads=1
    )
    try:
        rt = model.runtime
        system = Message("system", "You are a terse assistant. Answer in one short sentence.")
        history = [system]
        params = SamplingParams(max_tokens=16, seed=1)
        turns = 0
        prompt_total = 0
        while len(rt.history) < 3 * rt.cells:
            history.append(Message("user", f"Turn {turns}: {FILLER} Who keeps the bees?"))
            stats = StreamStats()
            deltas = list(model.stream(history, params, stats=stats))
            assert deltas[-1].finish_reason in ("stop", "length")
            reply = "".join(d.text for d in deltas)
            history.append(Message("assistant", reply))
            prompt_total += stats.prompt_tokens
            assert rt.n_cached <= rt.cells and rt.stats.peak_cells <= rt.cells
            turns += 1
        assert turns >= 3 and rt.stats.evicted_tokens > 0
        system_tokens, _, protected = model.render([system, Message("user", "x")])
        assert protected > 0 and rt.kept_tokens[:protected] == system_tokens[:protected]
        # each turn decoded only what was new, not the whole conversation again
        assert rt.stats.peak_cells < prompt_total
    finally:
        model.close()


@pytest.mark.slow
def test_sync_reuses_the_common_prefix_and_rolls_back_the_rest(paged: EvictingLlamaCppModel) -> None:
    rt = paged.runtime
    tokens = text_tokens(paged, 200)
    rt.reset(protected=8)
    rt.feed(tokens[:180])  # evicts: some of the first 150 tokens are gone
    assert rt.stats.evicted_tokens > 0
    changed = tokens[:150] + tokens[10:30]
    todo = rt.sync(changed, protected=8)
    assert todo == tokens[10:30] and rt.history == tokens[:150]
    assert all(p < 150 for p in rt.positions) and paged.llm.n_tokens == rt.n_cached
    assert rt.cache_pos_max() == rt.n_cached - 1
    rt.feed(todo)
    assert paged.llm.input_ids[: rt.n_cached].tolist() == [changed[p] for p in rt.positions]
    # the same prompt again: one token is re-fed to refresh the logits
    assert rt.sync(changed, protected=8) == changed[-1:]
    # a different system prompt starts over
    assert rt.sync([1] + changed, protected=8) == [1] + changed and rt.n_cached == 0


@pytest.mark.slow
def test_json_schema_and_stop_strings_work_under_a_budget(paged: EvictingLlamaCppModel) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "maxLength": 20}},
        "required": ["answer"],
    }
    params = SamplingParams(max_tokens=48, temperature=0.0)
    reply = paged.complete_json(
        [Message("system", "Reply in JSON."), Message("user", "Sky colour?")], schema, params
    )
    assert isinstance(reply["answer"], str)
    done = paged.complete([Message("user", "Say hello")], SamplingParams(max_tokens=8, stop=("l",)))
    assert "l" not in done.text and done.finish_reason == "stop"


@pytest.mark.slow
def test_python_and_native_observers_agree(paged: EvictingLlamaCppModel, bundled_gguf: Path) -> None:
    py = EvictingLlamaCppModel(
        bundled_gguf,
        kv_budget=BUDGET,
        kv_policy="paged",
        block_size=BLOCK,
        batch=BATCH,
        native=False,
        record=True,
    )
    try:
        assert py._observer is not None and not py._observer.native
        tokens = text_tokens(paged, 100)
        for model in (paged, py):
            model.runtime.stats.recorded.clear()
            model.runtime.reset()
            model.runtime.feed(tokens)
        for pos in range(100):
            for a, b in zip(paged.runtime.stats.recorded[pos], py.runtime.stats.recorded[pos], strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-5)
    finally:
        py.close()


def test_bad_settings_are_clear_errors(bundled_gguf: Path) -> None:
    with pytest.raises(ModelError, match="KV policy"):
        EvictingLlamaCppModel(bundled_gguf, kv_budget=256, kv_policy="lru")
    with pytest.raises(ModelError, match="too small"):
        EvictingLlamaCppModel(bundled_gguf, kv_budget=8)


def test_stop_scanner_catches_a_stop_split_across_tokens() -> None:
    scanner = StopScanner(["</end>"])
    out = [scanner.push(piece) for piece in ["Hello", " wor", "ld</e", "nd> tail"]]
    assert "".join(text for text, _ in out) == "Hello world"
    assert [hit for _, hit in out] == [False, False, False, True]
    assert StopScanner([]).push("abc") == ("abc", False)
