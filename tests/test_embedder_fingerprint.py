"""The embedder's fingerprint is sealed with the index, checked on query, and `--embed-model` remembered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from assistant.embedding import Embedder, default_model_path
from assistant.errors import ConfigError
from assistant.ingest import embedder_check
from assistant.ingest.indexer import index_paths
from assistant.pipeline.events import Done
from assistant.pipeline.session import AssistantSession
from tests.fake_model import FakeChatModel
from tests.fixtures.ingest.helpers import make_corpus, open_real_store
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another embedding model with the same dimension: the bundled one with a changed layer-norm epsilon."""
    src = default_model_path()
    dst = tmp_path_factory.mktemp("models") / "twin-minilm"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors"))
    for weights in src.glob("*.safetensors"):
        (dst / weights.name).symlink_to(weights)
    config = json.loads((dst / "config.json").read_text())
    config["layer_norm_eps"] = 1e-5
    (dst / "config.json").write_text(json.dumps(config))
    return dst


@pytest.fixture(scope="module")
def bundled() -> Embedder:
    return Embedder()


def _indexed(home: Path, corpus: Path, embedder: Any) -> tuple[Any, Any, Any]:
    settings, keyring, store = open_real_store(home)
    index_paths([str(corpus)], store, embedder, keyring)
    return settings, keyring, store


def test_the_index_remembers_its_embedder_and_refuses_another(
    tmp_path: Path, bundled: Embedder, twin: Path
) -> None:
    make_corpus(tmp_path / "notes", files=3)
    _settings, _ring, store = _indexed(tmp_path / "home", tmp_path / "notes", bundled)
    try:
        sealed = embedder_check.stored(store)
        assert sealed is not None and sealed["dim"] == 384 and sealed["path"] == ""
        assert sealed == bundled.fingerprint()
        embedder_check.check(store, bundled)  # control: the same model passes
        other = Embedder(twin)
        assert other.dim == bundled.dim and other.fingerprint()["sha256"] != sealed["sha256"]
        with pytest.raises(ConfigError, match="built with the embedding model") as err:
            embedder_check.check(store, other)
        assert "Unset ASSISTANT_EMBED_MODEL" in err.value.next_step
        count = store.count()
        with pytest.raises(ConfigError):
            index_paths([str(tmp_path / "notes")], store, other, _ring)
        assert store.count() == count  # nothing was written with the wrong model
    finally:
        store.close()


def test_a_question_with_another_embedder_is_an_error(tmp_path: Path, bundled: Embedder, twin: Path) -> None:
    make_corpus(tmp_path / "notes", files=2)
    settings, ring, store = _indexed(tmp_path / "home", tmp_path / "notes", bundled)
    try:
        same = AssistantSession(settings, keyring=ring, model=FakeChatModel(), store=store, embedder=bundled)
        events = list(same.ask("thyroid clinic letter", use_remote=False))
        assert isinstance(events[-1], Done) and events[-1].answer.sources  # control: it answers
        wrong = AssistantSession(
            settings, keyring=ring, model=FakeChatModel(), store=store, embedder=Embedder(twin)
        )
        with pytest.raises(ConfigError, match="do not match"):
            list(wrong.ask("thyroid clinic letter", use_remote=False))
    finally:
        store.close()


@pytest.mark.slow
def test_index_embed_model_is_remembered(tmp_path: Path, twin: Path, isolated_home: Path) -> None:
    make_corpus(tmp_path / "a", files=2)
    make_corpus(tmp_path / "b", files=2, seed=1)
    settings, _ring, store = open_real_store(isolated_home)  # keys with a fast KDF; the CLI reuses them
    store.close()
    env = {"ASSISTANT_PASSPHRASE": "test passphrase"}
    first = run_cli("index", str(tmp_path / "a"), "--embed-model", str(twin), "--json", env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    again = run_cli("index", str(tmp_path / "b"), "--json", env=env, timeout=300)  # no flag: remembered
    assert again.returncode == 0, again.stderr
    bundled_env = {**env, "ASSISTANT_EMBED_MODEL": str(default_model_path())}
    wrong = run_cli("index", str(tmp_path / "b"), env=bundled_env, timeout=300)
    assert wrong.returncode == 1 and "built with the embedding model" in wrong.stderr
    assert f"ASSISTANT_EMBED_MODEL={twin}" in wrong.stderr and "Traceback" not in wrong.stderr
    from assistant.wiring import embedder, open_store, unlock

    store = open_store(settings, unlock(settings, "test passphrase"))
    try:
        assert embedder(settings, store=store).model_path == twin
    finally:
        store.close()
