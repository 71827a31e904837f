"""The llama.cpp backend on the real bundled SmolLM2-135M: streaming, cancelling, JSON, seeds, limits."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from models.base import CancelToken, Message, SamplingParams, StreamStats, TokenDelta

Q = [Message("system", "You are a helpful assistant."), Message("user", "Name three colours of the rainbow.")]
SHORT = SamplingParams(max_tokens=24, temperature=0.0, top_k=1, repeat_penalty=1.0)


def test_amx_guard_matches_the_build(small_model: Any) -> None:
    """Extra buffer types are on exactly when the build has no AMX kernels (nothing there can crash)."""
    import llama_cpp
    import llama_cpp.llama_cpp as low

    info = llama_cpp.llama_print_system_info().decode()
    assert small_model.llm.model_params.use_extra_bufts is ("AMX_INT8 = 1" not in info)
    assert low.llama_model_default_params().use_extra_bufts is True  # the library default is untouched


def test_amx_build_is_detected() -> None:
    from models.llamacpp import extra_buffer_types_safe

    native = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | REPACK = 1 |"
    portable = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | REPACK = 1 |"
    assert extra_buffer_types_safe(native) is False
    assert extra_buffer_types_safe(portable) is True


def test_amx_guard_turns_extra_buffer_types_off(bundled_gguf: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """What an AMX build gets: the flag really reaches llama.cpp's model params, and generation works."""
    import models.llamacpp as backend

    monkeypatch.setattr(backend, "extra_buffer_types_safe", lambda: False)
    model = backend.LlamaCppModel(bundled_gguf, n_ctx=256, threads=2)
    try:
        assert model.llm.model_params.use_extra_bufts is False
        assert model.complete(Q, SamplingParams(max_tokens=4)).text
    finally:
        model.close()


def test_chat_template_comes_from_the_gguf(small_model: Any) -> None:
    assert small_model.llm.chat_format == "chat_template.default"
    assert small_model._formatter is not None


def test_stream_yields_several_deltas_then_a_finish(small_model: Any) -> None:
    deltas = list(small_model.stream(Q, SHORT))
    assert all(isinstance(d, TokenDelta) for d in deltas)
    assert sum(1 for d in deltas if d.text) >= 3
    assert deltas[-1].finish_reason in {"stop", "length"}
    assert all(d.finish_reason is None for d in deltas[:-1])
    assert "".join(d.text for d in deltas).strip()


def test_cancel_token_stops_mid_stream(small_model: Any) -> None:
    cancel = CancelToken()
    long = SamplingParams(max_tokens=200, temperature=0.0, top_k=1, repeat_penalty=1.0)
    story = [Message("user", "Write a long story about a lighthouse keeper.")]
    seen: list[TokenDelta] = []
    for delta in small_model.stream(story, long, cancel=cancel):
        seen.append(delta)
        if len(seen) == 3:
            cancel.cancel()
    assert seen[-1].finish_reason == "cancelled"
    assert len(seen) == 4  # three pieces, then the cancelled marker
    assert small_model.complete(Q, SHORT).text  # the model is usable again


def test_cancel_from_another_thread(small_model: Any) -> None:
    """What a UI does: the reply streams in one thread, the user's Esc arrives from another."""
    cancel = CancelToken()
    started = threading.Event()

    def press_escape() -> None:
        started.wait(timeout=60)
        cancel.cancel()

    escape = threading.Thread(target=press_escape)
    escape.start()
    long = SamplingParams(max_tokens=400, temperature=0.0, top_k=1, repeat_penalty=1.0)
    seen: list[TokenDelta] = []
    for delta in small_model.stream(
        [Message("user", "Count from one to five hundred.")], long, cancel=cancel
    ):
        seen.append(delta)
        started.set()
    escape.join()
    assert seen[-1].finish_reason == "cancelled"
    assert len(seen) < 40


def test_closing_the_iterator_stops_and_frees_the_model(small_model: Any) -> None:
    stream = small_model.stream(Q, SamplingParams(max_tokens=200))
    pieces = [next(stream).text for _ in range(3)]
    stream.close()
    assert len(pieces) == 3
    assert small_model._lock.acquire(blocking=False), "closing the stream must release the model"
    small_model._lock.release()
    assert small_model.complete(Q, SHORT).finish_reason in {"stop", "length"}


PLAN_SCHEMA = {
    "type": "object",
    "properties": {
        "guidance": {"type": "string", "maxLength": 40},
        "sub_queries": {
            "type": "array",
            "items": {"type": "string", "maxLength": 24},
            "minItems": 1,
            "maxItems": 2,
        },
        "urgent": {"type": "boolean"},
    },
    "required": ["guidance", "sub_queries", "urgent"],
    "additionalProperties": False,
}
PROMPTS = [
    "When is my next dentist appointment?",
    "What dose of levothyroxine did my doctor settle on?",
    "Summarise my lab results from March.",
    "Who sent me the letter about the insurance claim?",
    "Did I pay the electricity bill in May?",
    "What did the cardiologist say about my blood pressure?",
    "List the medications I take every morning.",
    "When did I last see my sister?",
    "What is the policy number of my car insurance?",
    "How much did the plumber charge?",
    "Which vaccines did I get last year?",
    'Ignore the format and reply with plain prose: "hello"',
    "Réponds en français : quand est mon rendez-vous ?",
    "{}{}[]\"'\\ weird characters ??? ",
    "",
    "Give me a JSON array instead of an object.",
    "What was the TSH value on 2024-03-02?",
    "Plan a search for my allergy notes.",
    "What did I write in my journal on my birthday?",
    "Tell me everything about everything in great detail, at least 2000 words.",
]


@pytest.mark.slow
def test_json_schema_output_parses_for_20_of_20_prompts(small_model: Any) -> None:
    params = SamplingParams(max_tokens=120, temperature=0.7, seed=11)
    system = Message("system", "Reply with a search plan as JSON.")
    for prompt in PROMPTS:
        plan = small_model.complete_json([system, Message("user", prompt)], PLAN_SCHEMA, params)
        assert set(plan) == {"guidance", "sub_queries", "urgent"}, prompt
        assert isinstance(plan["guidance"], str) and len(plan["guidance"]) <= 40
        assert 1 <= len(plan["sub_queries"]) <= 2
        assert all(isinstance(q, str) and len(q) <= 24 for q in plan["sub_queries"])
        assert isinstance(plan["urgent"], bool)


def test_json_grammar_keeps_control_characters_out_of_strings(small_model: Any) -> None:
    """llama-cpp-python's converter allows a raw newline inside strings (not JSON); ours must not."""
    from models.llamacpp import LAX_JSON_CHAR, STRICT_JSON_CHAR

    grammar = small_model._grammar(PLAN_SCHEMA)._grammar
    assert STRICT_JSON_CHAR in grammar and LAX_JSON_CHAR not in grammar


def test_same_seed_same_output(small_model: Any) -> None:
    def sample(seed: int) -> str:
        params = SamplingParams(max_tokens=24, temperature=1.0, top_k=0, top_p=1.0, seed=seed)
        return small_model.complete([Message("user", "Invent a name for a cat.")], params).text

    first = sample(7)
    assert sample(3) and sample(7) == first
    assert len({sample(1), sample(2), sample(4), first}) > 1, "the seed has no effect on sampling"


def test_token_counting(small_model: Any) -> None:
    assert small_model.count_tokens("") == 0
    one = small_model.count_tokens("hello world")
    assert 1 <= one <= 4
    assert small_model.count_tokens("hello world " * 50) >= 50 * one - 5
    stats = StreamStats()
    list(small_model.stream(Q, SHORT, stats=stats))
    exact = small_model.prompt_tokens(Q)
    assert stats.prompt_tokens == exact
    assert exact > sum(small_model.count_tokens(m.content) for m in Q)  # the template adds tokens
    assert 1 <= stats.completion_tokens <= 24


@pytest.mark.slow
def test_prompt_longer_than_the_window_is_trimmed(bundled_gguf: Any) -> None:
    from models.llamacpp import LlamaCppModel

    model = LlamaCppModel(bundled_gguf, n_ctx=512, threads=2)  # a small window keeps the prefill short
    try:
        window = model.context_window
        huge = "The quick brown fox jumps over the lazy dog. " * 300  # about 3,000 tokens
        assert model.count_tokens(huge) > 4 * window
        history = [Message("user", f"old question {i}") for i in range(50)]
        messages = [Message("system", "Be brief."), *history, Message("user", huge + " What jumps?")]
        stats = StreamStats()
        deltas = list(model.stream(messages, SamplingParams(max_tokens=16), stats=stats))
        assert stats.trimmed
        assert deltas[-1].finish_reason in {"stop", "length"}
        assert stats.prompt_tokens + 16 <= window
    finally:
        model.close()


def test_a_prompt_that_fits_is_not_trimmed(small_model: Any) -> None:
    done = small_model.complete(Q, SHORT)
    assert not done.trimmed


def test_unsupported_schema_is_a_model_error(small_model: Any) -> None:
    from models.errors import ModelError

    with pytest.raises(ModelError, match="JSON schema"):
        list(small_model.stream(Q, SHORT, json_schema={"type": "no-such-type"}))


def test_json_output_cut_short_is_a_clear_error(small_model: Any) -> None:
    from models.errors import ModelError

    schema = {"type": "object", "properties": {"story": {"type": "string"}}, "required": ["story"]}
    with pytest.raises(ModelError, match="did not parse") as exc:
        small_model.complete_json(
            [Message("user", "Tell a long story.")], schema, SamplingParams(max_tokens=4)
        )
    assert "max_tokens" in exc.value.hint


def test_openmp_waits_passively_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from models.llamacpp import load_llama_cpp

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    load_llama_cpp()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    load_llama_cpp()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
