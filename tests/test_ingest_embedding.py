"""The Embedder with the real bundled all-MiniLM-L6-v2: unit float32 vectors, batching, lazy loading."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder
from assistant.errors import ModelError

REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def embedder() -> Iterator[Embedder]:
    yield Embedder(batch_size=64)


@pytest.mark.slow  # loads the model (seconds; much more on a busy machine)
def test_unit_float32_rows_in_order(embedder: Embedder) -> None:
    texts = [
        "Levothyroxine dose increased to 88 micrograms after the March labs.",
        "The thyroid medication was raised following the blood test in spring.",
        "Bring towels to the swimming pool on Saturday.",
    ]
    vectors = embedder.embed(texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 384) == (3, embedder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2  # meaning, not word overlap, decides
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.slow
def test_batch_size_does_not_change_vectors(embedder: Embedder) -> None:
    texts = [f"Note number {i} about {'the garden ' * (i % 7)}and the budget." for i in range(20)]
    small = Embedder(batch_size=3)
    small._model = embedder._load()  # same weights, different batching
    assert np.allclose(small.embed(texts), embedder.embed(texts), atol=1e-5)
    assert np.allclose(embedder.embed_query(texts[4]), embedder.embed(texts)[4], atol=1e-5)


def test_empty_input(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, 384)


def test_torch_is_imported_only_when_embedding() -> None:
    code = (
        "import sys; from assistant.embedding import Embedder; e = Embedder(); e.name; "
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60, check=True
    )
    assert proc.stdout.split() == ["False", "False"]


def test_missing_model_folder_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        Embedder(tmp_path / "no-such-model").embed(["x"])
    assert "no-such-model" in info.value.title
    assert "ASSISTANT_EMBED_MODEL" in info.value.next_step


def test_env_var_selects_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    monkeypatch.setenv("ASSISTANT_EMBED_MODEL", str(broken))
    embedder = Embedder()
    assert embedder.model_path == broken
    with pytest.raises(ModelError, match="Could not load the embedding model"):
        embedder.embed(["x"])


def test_bad_batch_size_refused() -> None:
    with pytest.raises(ValueError):
        Embedder(batch_size=0)
