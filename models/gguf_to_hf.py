"""Convert a GGUF model to Hugging Face format (transformers dequantizes it) for vLLM and the reference.

vLLM's CPU build and the transformers reference both want a Hugging Face directory; the bundled
SmolLM2 ships as GGUF only, and nothing can be fetched from a hub.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.errors import ModelError


def convert(gguf: Path, out_dir: Path, dtype: str = "bfloat16") -> Path:
    """Write `out_dir` (config, weights, tokenizer) from `gguf` once; returns `out_dir`.

    Raises:
        ModelError: the file is missing or transformers cannot read it.
    """
    if (out_dir / "config.json").is_file():
        return out_dir
    if not gguf.is_file():
        raise ModelError(f"Model file not found: {gguf}", "Check the path, or pick a model from the catalog.")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs = {"gguf_file": gguf.name}
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, dtype=getattr(torch, dtype), **kwargs)
    except ImportError as exc:
        raise ModelError(
            f"Converting {gguf.name} needs transformers, torch and gguf ({exc.name} is missing).",
            "Run scripts/setup-vllm, or: pip install torch==2.13.0 transformers gguf",
        ) from exc
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(
            f"transformers could not read {gguf.name}: {exc}",
            "Use a llama-architecture GGUF, or a Hugging Face model directory as the model.",
        ) from exc
    model = _plain(model)
    tmp = out_dir.with_name(out_dir.name + ".partial")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.rename(out_dir)
    return out_dir


def _plain(model: Any) -> Any:
    """The same weights in an unquantized model: newer transformers mark GGUF-loaded models as
    quantized (and refuse to save them) even when every weight was dequantized."""
    if getattr(model, "hf_quantizer", None) is None and not getattr(
        model.config, "quantization_config", None
    ):
        return model
    from transformers import AutoModelForCausalLM

    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=model.dtype)
    missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
    if unexpected or [k for k in missing if "lm_head" not in k]:
        raise ModelError(
            f"Could not dequantize the GGUF weights (missing {missing[:3]}, unexpected {unexpected[:3]}).",
            "Use a Hugging Face model directory as the model instead.",
        )
    if getattr(config, "tie_word_embeddings", False):
        plain.tie_weights()
    return plain
