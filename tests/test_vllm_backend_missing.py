"""Without vLLM installed (the main environment), choosing the vllm backend is a clear error."""

import importlib.util

import pytest

from assistant.config import load_settings
from assistant.wiring import load_model
from models.errors import ModelError


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_backend_without_vllm_says_how_to_install_it() -> None:
    with pytest.raises(ModelError, match="vLLM is not installed") as err:
        load_model(load_settings(backend="vllm"))
    assert "setup-vllm" in err.value.hint
