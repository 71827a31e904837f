"""`models.download.pull` against a real HTTP server on 127.0.0.1 standing in for the hub and its CDN."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.catalog import KnownModel
from models.download import part_path, pull
from models.errors import ModelError
from tests.hub_standin import HubStandIn

REPO, FILE = "test-org/Tiny-GGUF", "tiny-Q4_K_M.gguf"
PAYLOAD = b"GGUF" + os.urandom(2 * 1024 * 1024)
CHUNK = 64 * 1024
KNOWN = KnownModel("tiny", REPO, FILE, len(PAYLOAD), "a test payload")


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """conftest switches huggingface_hub offline for the whole run; these tests talk to 127.0.0.1 only.

    http_get writes in DOWNLOAD_CHUNK_SIZE pieces (10 MB); a smaller one lets a 2 MiB payload show
    the resume at a chunk boundary, as an 800 MB model would.
    """
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", CHUNK)


@pytest.fixture
def hub(online: None) -> Iterator[HubStandIn]:
    with HubStandIn({(REPO, FILE): PAYLOAD}) as standin:
        yield standin


def cdn_gets(hub: HubStandIn) -> list[str | None]:
    return [s.range for s in hub.seen if s.server == "cdn" and s.method == "GET"]


def test_pull_downloads_and_verifies(hub: HubStandIn, tmp_path: Path) -> None:
    result = pull(KNOWN, tmp_path, endpoint=hub.endpoint, progress=False)
    assert result.path == tmp_path / FILE
    assert result.path.read_bytes() == PAYLOAD
    assert result.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert result.resumed_from == 0 and not result.already_installed
    assert not part_path(result.path).exists()
    assert [s.method for s in hub.seen if s.server == "hub"] == ["HEAD"]
    assert cdn_gets(hub) == [None]


def test_second_pull_is_a_no_op(hub: HubStandIn, tmp_path: Path) -> None:
    pull(KNOWN, tmp_path, endpoint=hub.endpoint, progress=False)
    hub.seen.clear()
    again = pull(KNOWN, tmp_path, endpoint=hub.endpoint, progress=False)
    assert again.already_installed and hub.seen == []


def test_dropped_connection_resumes_within_the_run(hub: HubStandIn, tmp_path: Path) -> None:
    hub.faults = [("drop", 700_000)]
    result = pull(KNOWN, tmp_path, endpoint=hub.endpoint, progress=False)
    assert result.path.read_bytes() == PAYLOAD
    kept = 700_000 // CHUNK * CHUNK  # whole chunks written before the drop
    assert cdn_gets(hub) == [None, f"bytes={kept}-"]


def test_interrupted_pull_resumes_on_the_next_run(hub: HubStandIn, tmp_path: Path) -> None:
    hub.faults = [("drop", 600_000), ("status", 503)]
    with pytest.raises(ModelError) as stopped:
        pull(KNOWN, tmp_path, endpoint=hub.endpoint, progress=False)
    kept = 600_000 // CHUNK * CHUNK
    assert f"stopped at {kept / 2**20:.1f} MiB of 2.0 MiB (HTTP 503)" in stopped.value.message
    assert "resumes" in stopped.value.hint
    part = part_path(tmp_path / FILE)
    assert part.stat().st_size == kept
    assert not (tmp_path / FILE).exists()

    hub.seen.clear()
    result = pull(KNOWN, tmp_path, endpoint=hub.endpoint, progress=False)
    assert result.resumed_from == kept
    assert cdn_gets(hub) == [f"bytes={kept}-"]
    assert result.path.read_bytes() == PAYLOAD
    assert not part.exists()


def test_partial_file_of_another_version_is_not_resumed(hub: HubStandIn, tmp_path: Path) -> None:
    part = part_path(tmp_path / FILE)
    part.write_bytes(b"GGUF old version bytes")
    part.with_name(part.name + ".json").write_text('{"sha256": "' + "0" * 64 + '"}')
    result = pull(KNOWN, tmp_path, endpoint=hub.endpoint, progress=False)
    assert result.resumed_from == 0
    assert result.path.read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_the_download(hub: HubStandIn, tmp_path: Path) -> None:
    hub.corrupt = True
    with pytest.raises(ModelError, match="Checksum mismatch") as exc:
        pull(KNOWN, tmp_path, endpoint=hub.endpoint, progress=False)
    assert "again" in exc.value.hint
    assert not (tmp_path / FILE).exists()
    assert not part_path(tmp_path / FILE).exists()


def test_catalog_sha256_wins_over_the_hub(hub: HubStandIn, tmp_path: Path) -> None:
    pinned = KnownModel("tiny", REPO, FILE, 1, "pinned", sha256="ab" * 32)
    with pytest.raises(ModelError, match="not the file this version"):
        pull(pinned, tmp_path, endpoint=hub.endpoint, progress=False)
    assert cdn_gets(hub) == []  # refused before transferring anything


def test_not_a_gguf_is_refused(online: None, tmp_path: Path) -> None:
    html = HubStandIn({(REPO, FILE): b"<html>login page</html>"})
    with html as standin, pytest.raises(ModelError, match="not a GGUF"):
        pull(KNOWN, tmp_path, endpoint=standin.endpoint, progress=False)
    assert not (tmp_path / FILE).exists()


def test_unknown_file_on_the_hub(hub: HubStandIn, tmp_path: Path) -> None:
    missing = KnownModel("tiny", REPO, "other.gguf", 1, "not there")
    with pytest.raises(ModelError, match="has no"):
        pull(missing, tmp_path, endpoint=hub.endpoint, progress=False)
    gone = KnownModel("tiny", "nobody/nothing", FILE, 1, "no repo")
    with pytest.raises(ModelError, match="has no"):
        pull(gone, tmp_path, endpoint=hub.endpoint, progress=False)


def test_hub_down_is_a_clear_error(online: None, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ModelError, match="Cannot reach the model hub") as exc:
        pull(KNOWN, tmp_path, endpoint=f"http://127.0.0.1:{port}", progress=False)
    assert "copy" in exc.value.hint and "huggingface.co/test-org/Tiny-GGUF" in exc.value.hint


def test_offline_mode_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE") as exc:
        pull(KNOWN, tmp_path, endpoint="http://127.0.0.1:9", progress=False)
    assert "Unset HF_HUB_OFFLINE" in exc.value.hint
