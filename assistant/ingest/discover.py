"""Find the files under the paths a user gave, and read each one safely (or say why not).

Folders are walked recursively, hidden entries (dot names) left out; symlinks are followed, but a
link back into a folder already on the walk is reported as a loop instead of walked forever. Reading
checks the size limit before opening, refuses anything but regular files (a FIFO would block), and
turns every OS error into a skip reason.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import InputError
from assistant.ingest.readers import reader_for
from assistant.ingest.types import Skipped

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Candidate:
    """A file to consider: `path` is absolute and normalized (symlinks kept as the user sees them)."""

    path: str


def normalize(path: str | Path) -> str:
    return os.path.abspath(os.path.expanduser(str(path)))


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if isinstance(exc, PermissionError):
        return "unreadable: permission denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished or broken symlink"
    return f"unreadable: {exc.strerror or type(exc).__name__}"


def hidden_under(path: str, roots: Sequence[str]) -> bool:
    """Is `path` a dot name, or inside one, below the root that holds it? (The walk leaves those out.)"""
    for root in roots:
        if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
            rest = path[len(root.rstrip(os.sep)) + 1 :]
            return any(part.startswith(".") for part in rest.split(os.sep) if part)
    return False


def check_roots(paths: Sequence[str | Path]) -> list[str]:
    """Absolute roots; a path that does not exist at all is the user's mistake, not a skip."""
    roots = []
    for raw in paths:
        path = normalize(raw)
        if not os.path.lexists(path):
            raise InputError(f"No such file or folder: {raw}", "Check the path and try again.")
        roots.append(path)
    if not roots:
        raise InputError("No paths given.", "Name one or more files or folders to index.")
    return roots


def discover(roots: Sequence[str]) -> Iterator[Candidate | Skipped]:
    """Every file under `roots` once, in a stable order, or a skip for what cannot be walked."""
    seen_files: set[str] = set()
    for root in roots:
        yield from _walk(root, set(), seen_files)


def _walk(path: str, ancestors: set[tuple[int, int]], seen: set[str]) -> Iterator[Candidate | Skipped]:
    try:
        st = os.stat(path)  # follows symlinks
    except OSError as exc:
        yield Skipped(path, _os_reason(exc))
        return
    if stat.S_ISDIR(st.st_mode):
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            yield Skipped(path, "symlink loop (links back to a folder above it)")
            return
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            yield Skipped(path, _os_reason(exc))
            return
        for name in names:
            if name.startswith("."):
                continue
            yield from _walk(os.path.join(path, name), ancestors | {key}, seen)
        return
    if path in seen:
        return
    seen.add(path)
    if not stat.S_ISREG(st.st_mode):
        yield Skipped(path, "not a regular file")
    elif reader_for(Path(path)) is None:
        suffix = Path(path).suffix.lower()
        yield Skipped(path, f"unsupported type {suffix or '(no extension)'}")
    else:
        yield Candidate(path)


def read_bytes(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | Skipped:
    """The file's bytes, or why they cannot be had. The size is checked before anything is read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return Skipped(path, _os_reason(exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return Skipped(path, "not a regular file")
        if st.st_size > max_bytes:
            return Skipped(path, f"too large ({_mib(st.st_size)} > limit {_mib(max_bytes)})")
        if st.st_size == 0:
            return Skipped(path, "empty file")
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:  # grew while we read it
            return Skipped(path, f"too large (> limit {_mib(max_bytes)})")
        return data
    except OSError as exc:
        return Skipped(path, _os_reason(exc))
    finally:
        if fd >= 0:
            os.close(fd)


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"
