"""Eviction methods are objects in one registry; the setting is checked against it; no silent fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from assistant.config import load_settings
from models.errors import ObserverUnavailable
from models.eviction import METHODS, TRACKERS, EvictionMethod, get_method, token_scores

K = np.array([[[2.0, 1.0, 4.0]], [[4.0, 1.0, 2.0]]])  # (layers=2, heads=1, tokens=3)
V = np.array([[[1.0, 3.0, 1.0]], [[2.0, 1.0, 1.0]]])


def test_registry_holds_every_policy_name() -> None:
    assert set(METHODS) == set(TRACKERS) == {"paged", "inverse_key", "streaming", "context_shift", "none"}
    assert all(isinstance(m, EvictionMethod) and m.name == name for name, m in METHODS.items())
    assert {n for n, m in METHODS.items() if m.needs_scores} == {"paged", "inverse_key"}
    assert [n for n, m in METHODS.items() if not m.evicts] == ["none"]
    with pytest.raises(ValueError, match="one of paged"):
        get_method("h2o")


def test_scores_come_from_the_method() -> None:
    np.testing.assert_allclose(get_method("paged").score(K, V), [0.5, 2.0, 0.375])
    np.testing.assert_allclose(get_method("inverse_key").score(K, V), [0.375, 1.0, 0.375])
    for name in ("streaming", "context_shift", "none"):
        assert get_method(name).score(K, V).tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(token_scores("paged", K, V), get_method("paged").score(K, V))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_makes_a_tracker_that_keeps_the_budget(name: str) -> None:
    tracker = get_method(name).tracker(budget=32, block_size=8, protected=4)
    rng = np.random.default_rng(0)
    tracker.prefill(rng.random(20))
    for _ in range(60):
        tracker.append(float(rng.random()))
    if get_method(name).evicts:
        assert len(tracker.positions) <= 32 + 8 and tracker.evicted > 0
        assert tracker.positions[:4] == [0, 1, 2, 3]  # the protected prefix stays
    else:
        assert len(tracker.positions) == 80 and tracker.evicted == 0


def test_kv_policy_setting_is_checked_against_the_registry() -> None:
    assert load_settings(kv_policy="streaming").kv_policy == "streaming"
    with pytest.raises(ValidationError, match="one of paged, inverse_key, streaming"):
        load_settings(kv_policy="positional")


def test_the_cli_reports_a_bad_kv_policy_with_a_next_step() -> None:
    from tests.helpers import run_cli

    done = run_cli("ask", "hi", "--no-remote", env={"ASSISTANT_KV_POLICY": "positional"})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error: Invalid setting ASSISTANT_KV_POLICY" in done.stderr and "next step:" in done.stderr


def _broken_observer(native: object = None) -> None:
    raise OSError("no compiler and no Python fallback (test)")


def test_a_scored_policy_without_its_observer_is_an_error(
    bundled_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.llamacpp_kv import model as kv_model

    monkeypatch.setattr(kv_model, "NormObserver", _broken_observer)
    for name in ("paged", "inverse_key"):
        with pytest.raises(ObserverUnavailable, match="observer") as err:
            kv_model.EvictingLlamaCppModel(bundled_gguf, kv_budget=128, kv_policy=name, threads=1)
        assert "streaming" in err.value.hint


def test_a_score_free_policy_needs_no_observer(bundled_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Control for the test above: the same broken observer is fine when nothing needs scores."""
    from models.llamacpp_kv import model as kv_model

    monkeypatch.setattr(kv_model, "NormObserver", _broken_observer)
    m = kv_model.EvictingLlamaCppModel(bundled_gguf, kv_budget=128, kv_policy="streaming", threads=1)
    try:
        assert m.runtime.observer is None and m.count_tokens("hello") > 0
    finally:
        m.close()
