"""The vLLM backend behind the `models` interface, on the bundled SmolLM2 converted from its GGUF,
with PagedEviction switched on through settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.config import load_settings
from models.base import GREEDY, CancelToken, Message, StreamStats
from models.errors import ModelConfigError as ConfigError

pytestmark = [pytest.mark.vllm, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def hf_dir() -> Path:
    """The bundled GGUF converted once per machine (minutes on 2 cores); later runs reuse it."""
    from models.catalog import bundled_path
    from models.gguf_to_hf import convert

    cache = Path(os.environ.get("PA_TEST_CACHE", Path.home() / ".cache" / "private-assistant-tests"))
    return convert(bundled_path(), cache / "smollm2-135m-hf")


@pytest.fixture(scope="module")
def model(hf_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from assistant.wiring import model_options
    from models.registry import ResolvedModel, backend_class

    home = tmp_path_factory.mktemp("home")
    settings = load_settings(home=home, backend="vllm", n_ctx=1024, kv_budget=128, kv_policy="paged")
    # registry.resolve accepts model files only; a Hugging Face directory goes straight to the backend
    m = backend_class(settings.backend).from_options(
        ResolvedModel(hf_dir.name, hf_dir), model_options(settings)
    )
    yield m
    m.close()


LONG = [Message("user", "Summarize: " + "The river rose after the storm and the town moved uphill. " * 20)]


def test_streams_and_evicts_on_a_prompt_over_budget(model) -> None:
    assert model.backend_name == "vllm" and model.kv_budget == 128
    assert (Path(model.llm.llm_engine.vllm_config.model_config.model) / "config.json").is_file()
    stats = StreamStats()
    deltas = list(model.stream(LONG, replace(GREEDY, max_tokens=24), stats=stats))
    assert deltas[-1].finish_reason in ("stop", "length")
    assert "".join(d.text for d in deltas).strip()
    assert stats.prompt_tokens > 128 and 0 < stats.completion_tokens <= 24
    again = model.complete(LONG, replace(GREEDY, max_tokens=24))
    assert again.text == "".join(d.text for d in deltas)  # greedy is reproducible


def test_json_schema_constrains_the_output(model) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    }
    msgs = [Message("user", "Plan a trip to Paris for three days. Reply in JSON.")]
    value = model.complete_json(msgs, schema, replace(GREEDY, max_tokens=60))
    assert isinstance(value, dict) and isinstance(value["city"], str) and isinstance(value["days"], int)


def test_cancel_stops_generation(model) -> None:
    cancel = CancelToken()
    deltas = []
    for delta in model.stream([Message("user", "Count to one hundred.")], GREEDY, cancel=cancel):
        deltas.append(delta)
        cancel.cancel()
    assert deltas[-1].finish_reason == "cancelled" and len(deltas) <= 3
    after = model.complete([Message("user", "Say hi.")], replace(GREEDY, max_tokens=5))
    assert after.completion_tokens > 0  # the aborted request left the engine usable


@pytest.mark.parametrize(
    ("budget", "policy", "message"),
    [(100, "paged", "whole number"), (128, "context_shift", "not available"), (32, "paged", "whole number")],
)
def test_bad_eviction_settings_are_clear_errors(budget: int, policy: str, message: str) -> None:
    from models.vllm_backend import eviction_kwargs

    with pytest.raises(ConfigError, match=message) as err:
        eviction_kwargs(budget, policy, 32)
    assert err.value.hint  # library errors carry a hint; the app adds its next step
