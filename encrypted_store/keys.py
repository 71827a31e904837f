"""The key file: a master key and the CKKS secret key, wrapped under the passphrase.

Layout of the key file (JSON, mode 0600): argon2id parameters and salt, the 32-byte master key
sealed with AES-256-GCM under the passphrase-derived key, and the CKKS secret key sealed under the
master key. Changing the passphrase re-wraps only the master key, so no data is re-encrypted; a new
master key (`assistant init --rekey`) means re-encrypting everything (`assistant.rekey`).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from encrypted_store.errors import AuthError, KeyfileError, NotInitialized, TamperError, WrongPassphrase

FORMAT = "private-assistant-keys"
VERSION = 1
# argon2id: RFC 9106 second recommended option (64 MiB, t=3, p=4 -> p=1 on a 2-core box)
DEFAULT_KDF = {"time_cost": 3, "memory_kib": 65536, "parallelism": 1}
_SEAL_TAG = b"\x01"  # blob format version for Keyring.seal


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def _kek(passphrase: str, salt: bytes, kdf: dict[str, int]) -> bytes:
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        salt,
        time_cost=int(kdf["time_cost"]),
        memory_cost=int(kdf["memory_kib"]),
        parallelism=int(kdf["parallelism"]),
        hash_len=32,
        type=Type.ID,
    )


def _hkdf(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)


@dataclass
class Keyring:
    """Unlocked secrets of one data dir. Never serialized; lives only in the client process."""

    master_key: bytes = field(repr=False)
    ckks_secret: bytes = field(repr=False)  # SEAL-serialized CKKS secret key
    ckks_params: dict[str, Any] = field(default_factory=dict)
    _aead: AESGCM | None = field(default=None, repr=False)

    def subkey(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (HKDF-SHA256 of the master key); e.g. HMACs of paths."""
        return _hkdf(self.master_key, purpose)

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            self._aead = AESGCM(self.subkey("seal/aes-256-gcm"))
        return self._aead

    def seal(self, data: bytes, aad: bytes) -> bytes:
        """AES-256-GCM with a fresh random 96-bit nonce; `aad` binds the blob to its place."""
        nonce = os.urandom(12)
        return _SEAL_TAG + nonce + self._cipher().encrypt(nonce, data, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """Inverse of seal; raises TamperError if the blob was altered, truncated or moved."""
        if len(blob) < 29 or blob[:1] != _SEAL_TAG:
            raise TamperError(
                "A sealed item is malformed (truncated or tampered).",
                "Restore the data from a backup, or re-index the affected files.",
            )
        try:
            return self._cipher().decrypt(blob[1:13], blob[13:], aad)
        except InvalidTag:
            raise TamperError(
                "A sealed item failed its integrity check (tampered, corrupted or moved).",
                "Restore the data from a backup, or re-index the affected files.",
            ) from None


def _write_keyfile(path: Path, doc: dict[str, Any]) -> None:
    """Atomic write with mode 0600 from the start (never world-readable, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _wrap(master: bytes, passphrase: str, kdf: dict[str, int]) -> dict[str, Any]:
    salt = os.urandom(16)
    nonce = os.urandom(12)
    wrapped = AESGCM(_kek(passphrase, salt, kdf)).encrypt(nonce, master, b"master-key")
    return {"kdf": {"name": "argon2id", "salt": _b64(salt), **kdf}, "master": _b64(nonce + wrapped)}


def _check_passphrase(passphrase: str) -> None:
    if not passphrase:
        raise AuthError("The passphrase is empty.", "Choose a non-empty passphrase.")


def is_initialized(keyfile: Path) -> bool:
    return keyfile.exists()


def new_keyring() -> Keyring:
    """A fresh master key and CKKS secret key (nothing written)."""
    from encrypted_store.ckks import generate_secret_key, params_dict

    params = params_dict()
    return Keyring(master_key=os.urandom(32), ckks_secret=generate_secret_key(params), ckks_params=params)


def write_keys(path: Path, ring: Keyring, passphrase: str, kdf: dict[str, int] | None = None) -> None:
    """Write `ring` as a key file at `path` (0600, atomic), wrapped under `passphrase`."""
    _check_passphrase(passphrase)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        **_wrap(ring.master_key, passphrase, kdf or DEFAULT_KDF),
        "ckks_params": ring.ckks_params,
        "ckks_secret": _b64(ring.seal(ring.ckks_secret, b"ckks-secret-key")),
    }
    _write_keyfile(path, doc)


def kdf_of(keyfile: Path) -> dict[str, int]:
    """The argon2id cost parameters of the key file at `keyfile`."""
    return {k: v for k, v in read_keyfile(keyfile)["kdf"].items() if k in DEFAULT_KDF}


def create_keys(keyfile: Path, passphrase: str, *, kdf: dict[str, int] | None = None) -> Keyring:
    """Generate the master key and CKKS secret key and write the key file (0600)."""
    _check_passphrase(passphrase)
    if keyfile.exists():
        raise KeyfileError(
            f"Already initialized: {keyfile} exists.",
            "Change the passphrase instead; a new key file would orphan the data sealed under this one.",
        )
    ring = new_keyring()
    write_keys(keyfile, ring, passphrase, kdf)
    return ring


def read_keyfile(path: Path) -> dict[str, Any]:
    """The key file's (still sealed) document; NotInitialized or KeyfileError before any passphrase."""
    if not path.exists():
        raise NotInitialized(
            f"No keys in {path.parent}: the data dir is not initialized.", "Create the keys first."
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT or doc.get("version") != VERSION:
            raise ValueError("unknown format")
        return doc  # type: ignore[no-any-return]
    except (ValueError, OSError) as exc:
        raise KeyfileError(
            f"The key file {path} is unreadable or corrupt ({exc}).",
            "Restore it from a backup; without it the encrypted data cannot be read.",
        ) from None


def _unwrap(doc: dict[str, Any], passphrase: str) -> bytes:
    kdf = doc["kdf"]
    blob = _unb64(doc["master"])
    kek = _kek(passphrase, _unb64(kdf["salt"]), kdf)
    try:
        return AESGCM(kek).decrypt(blob[:12], blob[12:], b"master-key")
    except InvalidTag:
        raise WrongPassphrase(
            "Wrong passphrase: it does not unlock the keys of this data dir.",
            "Try again, or open the data dir these keys belong to.",
        ) from None


def unlock(keyfile: Path, passphrase: str | Callable[[], str]) -> Keyring:
    """Open the key file with the passphrase.

    `passphrase` may be a callable (a prompt): it is called only once the key file is known to exist
    and parse, so a missing or corrupt key file fails before anyone is asked for a passphrase.

    Raises:
        NotInitialized, KeyfileError: no key file, or an unreadable one. WrongPassphrase: it does not open.
    """
    doc = read_keyfile(keyfile)
    master = _unwrap(doc, passphrase() if callable(passphrase) else passphrase)
    ring = Keyring(master_key=master, ckks_secret=b"", ckks_params=dict(doc["ckks_params"]))
    ring.ckks_secret = ring.open(_unb64(doc["ckks_secret"]), b"ckks-secret-key")
    return ring


def change_passphrase(keyfile: Path, old: str, new: str) -> Keyring:
    """Re-wrap the master key under a new passphrase; sealed data stays as it is."""
    _check_passphrase(new)
    doc = read_keyfile(keyfile)
    master = _unwrap(doc, old)
    kdf = {k: v for k, v in doc["kdf"].items() if k in DEFAULT_KDF}
    doc.update(_wrap(master, new, kdf))
    _write_keyfile(keyfile, doc)
    return unlock(keyfile, new)
