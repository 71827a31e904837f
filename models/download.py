"""`models pull`: fetch a known GGUF from the Hugging Face Hub, resumable, verified by sha256.

huggingface_hub 2.4's `hf_hub_download` deletes its partial file when a transfer fails, so an
interrupted 800 MB download would start over. We use its building blocks instead (`hf_hub_url`,
`get_hf_file_metadata` for the HEAD with X-Repo-Commit / X-Linked-Etag / X-Linked-Size, `http_get`
for the Range-resumed transfer and its retries) and keep `NAME.gguf.part` in the models folder until
the sha256 matches.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from models.catalog import KnownModel
from models.errors import DownloadError, ModelError

SHA256 = re.compile(r"^[0-9a-f]{64}$")
GGUF_MAGIC = b"GGUF"
MiB = 1024 * 1024


@dataclass(frozen=True)
class PullResult:
    path: Path
    sha256: str
    size_bytes: int
    resumed_from: int  # bytes already on disk when this run started
    already_installed: bool = False


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def pull(
    known: KnownModel,
    models_dir: Path,
    *,
    endpoint: str | None = None,
    force: bool = False,
    progress: bool = True,
    token: str | bool | None = None,
) -> PullResult:
    """Download `known` into `models_dir`, resuming a previous partial download.

    Raises:
        ModelError: offline, hub unreachable, file not on the hub, transfer stopped (the partial
            file is kept for the next run), checksum mismatch (the partial file is deleted).
    """
    from huggingface_hub import constants

    dest = models_dir / known.filename
    if dest.is_file() and not force:
        return PullResult(dest, "", dest.stat().st_size, dest.stat().st_size, already_installed=True)
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
    if constants.is_offline_mode():
        raise DownloadError(
            "Downloads are switched off: HF_HUB_OFFLINE is set.",
            f"Unset HF_HUB_OFFLINE and download it again, or copy {known.filename} into {models_dir} "
            "by hand.",
            model=known.name,
        )
    remote = _metadata(known, endpoint, token, models_dir)
    expected_sha = remote.sha256
    models_dir.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    _discard_stale_part(part, expected_sha)
    resumed_from = part.stat().st_size if part.exists() else 0
    if remote.size is not None:
        _check_disk_space(models_dir, remote.size - resumed_from)
    _transfer(known, remote, part, resumed_from, token, progress)
    digest = _sha256_of(part)
    if digest != expected_sha:
        _remove_part(part)
        raise DownloadError(
            f"Checksum mismatch for {known.filename}: the download is not the published file "
            f"(expected sha256 {expected_sha[:12]}..., got {digest[:12]}...). It was deleted.",
            "Download it again; if it repeats, the hub or mirror (HF_ENDPOINT) serves a different file.",
            model=known.name,
        )
    with part.open("rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            _remove_part(part)
            raise ModelError(
                f"{known.filename} from the hub is not a GGUF model file.",
                "Report this: the catalog entry points at the wrong file.",
            )
    os.replace(part, dest)
    _sidecar(part).unlink(missing_ok=True)
    return PullResult(dest, digest, dest.stat().st_size, resumed_from)


@dataclass(frozen=True)
class Remote:
    """What the hub's HEAD said about a file."""

    url: str  # the /resolve/ URL the HEAD went to
    location: str  # where the bytes are (a CDN URL after a redirect)
    sha256: str  # what the download must hash to
    size: int | None
    commit: str


def _metadata(known: KnownModel, endpoint: str, token: str | bool | None, models_dir: Path) -> Remote:
    import httpx2
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
    )

    url = hf_hub_url(known.repo_id, known.filename, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, token=token, endpoint=endpoint, timeout=15)
    except OfflineModeIsEnabled as exc:
        raise ModelError(
            "Downloads are switched off: HF_HUB_OFFLINE is set.", "Unset HF_HUB_OFFLINE and try again."
        ) from exc
    except GatedRepoError as exc:
        raise ModelError(
            f"{known.repo_id} is gated on the hub.",
            "Accept its licence on huggingface.co, then set HF_TOKEN and run the pull again.",
        ) from exc
    except (RepositoryNotFoundError, RemoteEntryNotFoundError) as exc:
        raise ModelError(
            f"The hub has no {known.repo_id}/{known.filename}.",
            "The catalog entry may be out of date: pick another model from the catalog.",
        ) from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise ModelError(
            f"The model hub answered HTTP {status} for {known.filename}.",
            "Try again later.",
        ) from exc
    except (httpx2.TransportError, OSError) as exc:
        raise DownloadError(
            f"Cannot reach the model hub at {endpoint} ({type(exc).__name__}).",
            f"Check the network (or HF_ENDPOINT for a mirror) and download it again; offline, copy "
            f"{known.filename} from https://huggingface.co/{known.repo_id} into {models_dir}.",
            model=known.name,
        ) from exc
    if meta.commit_hash is None or meta.etag is None:
        raise ModelError(
            f"{endpoint} does not answer like a Hugging Face Hub (no X-Repo-Commit or ETag).",
            "Check HF_ENDPOINT, or your proxy settings.",
        )
    sha = _expected_sha256(known, meta.etag)
    return Remote(url, meta.location, sha, meta.size, meta.commit_hash)


def _expected_sha256(known: KnownModel, etag: str) -> str:
    hub_sha = etag.lower() if SHA256.match(etag.lower()) else None
    if known.sha256 and hub_sha and known.sha256 != hub_sha:
        raise ModelError(
            f"The hub's {known.filename} is not the file this version of the assistant knows "
            f"(sha256 {hub_sha[:12]}... instead of {known.sha256[:12]}...).",
            "Upgrade to a version that knows it, or install a GGUF by hand and use its path as the model.",
        )
    expected = known.sha256 or hub_sha
    if expected is None:
        raise ModelError(
            f"Cannot verify {known.filename}: the hub gave no sha256 and the catalog has none.",
            "Install it by hand and use its path as the model.",
        )
    return expected


def _transfer(
    known: KnownModel,
    remote: Remote,
    part: Path,
    resumed_from: int,
    token: str | bool | None,
    progress: bool,
) -> None:
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers
    from tqdm import tqdm

    headers = build_hf_headers(token=token, library_name="private-assistant")
    if urlparse(remote.location).netloc != urlparse(remote.url).netloc:
        headers.pop("authorization", None)  # a signed CDN URL: the token must not leave the hub
    bar = functools.partial(tqdm, file=sys.stderr, disable=not progress, mininterval=0.5, leave=True)
    _sidecar(part).write_text(json.dumps({"sha256": remote.sha256}))
    try:
        with part.open("ab") as fh:
            http_get(
                remote.location,
                fh,
                resume_size=resumed_from,
                headers=headers,
                expected_size=remote.size,
                displayed_filename=known.filename,
                tqdm_class=bar,  # type: ignore[arg-type]
            )
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status == 416:  # our partial file is longer than the file: start over next time
            _remove_part(part)
        raise _stopped(known, part, remote.size, f"HTTP {status}") from exc
    except httpx2.HTTPError as exc:
        raise _stopped(known, part, remote.size, type(exc).__name__) from exc
    except OSError as exc:  # http_get's size consistency check
        _remove_part(part)
        raise DownloadError(
            f"The download of {known.filename} ended with the wrong size; it was deleted.",
            "Download it again.",
            model=known.name,
        ) from exc


def _stopped(known: KnownModel, part: Path, size: int | None, why: str) -> ModelError:
    have = part.stat().st_size if part.exists() else 0
    total = f" of {size / MiB:.1f} MiB" if size else ""
    return DownloadError(
        f"The download of {known.filename} stopped at {have / MiB:.1f} MiB{total} ({why}).",
        "Download it again: it resumes where it stopped.",
        model=known.name,
    )


def _sidecar(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _discard_stale_part(part: Path, expected_sha: str) -> None:
    """A partial file of another version of the model cannot be resumed."""
    if not part.exists():
        return
    try:
        recorded = json.loads(_sidecar(part).read_text()).get("sha256")
    except (OSError, ValueError):
        recorded = None
    if recorded != expected_sha:
        _remove_part(part)


def _remove_part(part: Path) -> None:
    part.unlink(missing_ok=True)
    _sidecar(part).unlink(missing_ok=True)


def _check_disk_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise ModelError(
            f"Not enough disk space in {folder}: {needed / MiB:.0f} MiB needed, {free / MiB:.0f} MiB free.",
            "Free some space, or download to a larger disk.",
        )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(4 * MiB):
            digest.update(chunk)
    return digest.hexdigest()
