"""The data dir's permissions: the folder and every folder in it 0700, every file 0600.

Applied when the keys are created or unlocked, so a data dir made earlier (or copied in with looser
modes) is tightened too; the CLI also sets umask 077 so that files created later start private.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def secure_home(home: Path) -> list[Path]:
    """Tighten `home` and everything under it (symlinks are left alone); returns what was changed."""
    changed: list[Path] = []
    if not home.is_dir():
        return changed
    for root, dirs, files in os.walk(home, followlinks=False):
        base = Path(root)
        for path, mode in [(base, DIR_MODE)] + [(base / f, FILE_MODE) for f in files]:
            try:
                st = path.lstat()
            except FileNotFoundError:  # removed meanwhile (a temporary file)
                continue
            if stat.S_ISLNK(st.st_mode) or stat.S_IMODE(st.st_mode) == mode:
                continue
            os.chmod(path, mode)
            changed.append(path)
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]
    return changed


def write_private(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write `data` readable by the owner only from the first byte (a file that existed with looser
    modes is tightened); `durable`: on disk before this returns."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), FILE_MODE)
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())


def replace_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically (0600, on disk first): a crash leaves the old file or
    the new one, never half of either."""
    tmp = path.with_suffix(".tmp")
    write_private(tmp, data, durable=True)
    os.replace(tmp, path)


def private_umask() -> None:
    """New files of this process: owner only (the CLI entry point calls it)."""
    os.umask(0o077)
