"""ASSISTANT_KV_BUDGET switches the llama.cpp backend to the evicting runtime."""

import pytest

from assistant.config import load_settings
from assistant.wiring import load_model
from models.llamacpp import LlamaCppModel
from models.llamacpp_kv import EvictingLlamaCppModel


@pytest.mark.parametrize(
    ("budget", "policy", "evicting"), [(256, "paged", True), (256, "none", False), (None, "paged", False)]
)
def test_kv_budget_selects_the_evicting_backend(budget: int | None, policy: str, evicting: bool) -> None:
    settings = load_settings(kv_budget=budget, kv_policy=policy, n_ctx=1024, threads=1)
    model = load_model(settings)
    try:
        assert isinstance(model, LlamaCppModel)
        assert isinstance(model, EvictingLlamaCppModel) is evicting
    finally:
        model.close()


def test_vllm_backend_accepts_a_hugging_face_folder(tmp_path) -> None:
    from assistant.wiring import resolve_model as resolve

    (tmp_path / "config.json").write_text("{}")
    resolved = resolve(load_settings(backend="vllm", model=str(tmp_path)))
    assert resolved.path == tmp_path
    with pytest.raises(Exception, match="not found"):
        resolve(load_settings(backend="llamacpp", model=str(tmp_path)))
