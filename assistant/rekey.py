"""`assistant init --rekey`: re-encrypt the whole data dir under a new master key and CKKS secret key.

Everything sealed is rewritten: the store (through its public API: every record read under the old
keys and added to a fresh store under the new ones, with its own client state file), the manifest,
the ledger (entries and chain), the conversations and the whole-file sealed items of `SEALED_FILES`.
Crash safety: the new state is built in `<home>/.rekey/`, which the old keys never see; a READY
marker is written (fsync'd) once it is complete, then each file is moved over its old copy, the key
file last. A kill before READY leaves the old state (the next unlock discards the
half-built folder); a kill after READY is finished by the next unlock (`resume`), so no data is lost.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.datadir import write_private
from assistant.errors import ConfigError
from assistant.wiring import STORE_STATE

STAGE = ".rekey"
READY = "READY"
BATCH = 1024


@dataclass(frozen=True)
class SealedFile:
    """A data-dir file sealed whole as `keyring.seal(json, aad)`, re-sealed under the new keys.

    `doc_keyed`: the top-level JSON field (if any) whose object is keyed by document keys
    (`DocKeys`), which change with the keys: its keys are mapped to the new ones.
    """

    name: str
    aad: bytes
    doc_keyed: str | None = None


# assistant.privacy.vocabulary's FILENAME and AAD: its "docs" are keyed by document key.
VOCABULARY = SealedFile("vocabulary.sealed", b"private-assistant/vocabulary/v1", "docs")
# Every whole-file sealed item of the data dir; a module adding one registers it here. The store's
# state file is re-sealed only when the store step did not write a new one (no embedded store).
SEALED_FILES: list[SealedFile] = [VOCABULARY]


@dataclass
class RekeyReport:
    records: int = 0
    manifest: int = 0
    ledger_entries: int = 0
    conversations: int = 0
    sealed_files: int = 0
    skipped: list[str] = field(default_factory=list)  # items that did not open under the old keys

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "manifest": self.manifest,
            "ledger_entries": self.ledger_entries,
            "conversations": self.conversations,
            "sealed_files": self.sealed_files,
            "skipped": self.skipped,
        }


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def resume(settings: Settings) -> bool:
    """Finish a rekey that reached READY, or discard one that did not; True when one was finished."""
    stage = settings.home / STAGE
    if not stage.exists():
        return False
    if not (stage / READY).exists():
        shutil.rmtree(stage)  # built only part of the new state: the old one is untouched
        return False
    _swap(settings.home, stage)
    return True


def _swap(home: Path, stage: Path) -> None:
    """Move every staged file over its old copy, the key file last; safe to run again after a kill."""
    staged = sorted(p for p in stage.rglob("*") if p.is_file() and p.name != READY)
    staged.sort(key=lambda p: p.name == "keys.json")  # keys last: until then the old keys still work
    for src in staged:
        rel = src.relative_to(stage)
        dest = home / rel
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if rel.name == "store.db":  # the old database's WAL must not be replayed into the new one
            for suffix in ("-wal", "-shm"):
                Path(str(dest) + suffix).unlink(missing_ok=True)
        os.replace(src, dest)
    _fsync_dir(home)
    shutil.rmtree(stage)


def rekey(
    settings: Settings, passphrase: str, *, progress: Callable[[str], None] = lambda _m: None
) -> RekeyReport:
    """Re-encrypt the data dir under new keys, wrapped under the same passphrase.

    Raises:
        ConfigError: a store server is configured (its data must be re-encrypted where it lives).
        AuthError: wrong passphrase.
        StoreError: the ledger fails its chain check (rekeying would hide the damage).
    """
    from encrypted_store import keys

    if settings.store_url:
        raise ConfigError(
            "Rekeying a store server's data is not supported.",
            "Unset ASSISTANT_STORE_URL and rekey on the server's data dir copy, or re-index into a new "
            "store after `assistant init --rekey`.",
        )
    resume(settings)
    old = keys.unlock(settings.keyfile, passphrase)
    new = keys.new_keyring()
    stage = settings.home / STAGE
    stage.mkdir(mode=0o700)
    report = RekeyReport()
    try:
        progress("store")
        docs = _store(settings, old, new, stage, report)
        progress("ledger")
        _ledger(settings.home, old, new, stage, report)
        progress("conversations")
        _conversations(settings.home, old, new, stage, report)
        progress("sealed files")
        _sealed_files(settings.home, old, new, stage, docs, report)
        keys.write_keys(stage / "keys.json", new, passphrase, keys.kdf_of(settings.keyfile))
        for lock in stage.rglob("*.lock"):  # lock files of the staged ledger and state: not data
            lock.unlink()
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)  # nothing was replaced yet: the old state stands
        raise
    fd = os.open(stage / READY, os.O_WRONLY | os.O_CREAT, 0o600)
    os.fsync(fd)
    os.close(fd)
    _fsync_dir(stage)
    progress("swap")
    _swap(settings.home, stage)
    return report


def _store(settings: Settings, old: Any, new: Any, stage: Path, report: RekeyReport) -> dict[str, str]:
    """A fresh store in `stage` holding every record and manifest entry of the old one, under the new
    keys and with its own client state file; returns old document key -> new document key."""
    if not settings.store_path.exists():
        return {}
    from assistant.ingest.manifest import JOURNAL_KEY, DocKeys
    from encrypted_store import open_store
    from encrypted_store.api import RecordIn

    # the old store is verified as the app verifies it: against this data dir's newest state
    src = open_store(
        old, path=settings.store_path, threads=settings.threads, state_path=settings.home / STORE_STATE
    )
    try:
        dst = open_store(
            new,
            path=stage / "store.db",
            threads=settings.threads,
            dim=src.dim,
            state_path=stage / STORE_STATE,
        )
        try:
            manifest = src.manifest_get_all()
            report.skipped += src.last_warnings
            new_doc = DocKeys(new)
            docs = {k: new_doc(v["path"]) for k, v in manifest.items() if isinstance(v.get("path"), str)}
            for key, value in manifest.items():
                if key == JOURNAL_KEY and isinstance(value.get("docs"), list):
                    value = {**value, "docs": [docs.get(d, d) for d in value["docs"]]}
                dst.manifest_put(docs.get(key, key), value)
                report.manifest += 1
            batch: list[RecordIn] = []
            for rec in src.records():
                batch.append(RecordIn(rec.id, rec.text, rec.vector, docs.get(rec.doc, rec.doc), rec.meta))
                if len(batch) >= BATCH:
                    dst.add(batch)
                    report.records += len(batch)
                    batch = []
            dst.add(batch)
            report.records += len(batch)
            report.skipped += src.last_warnings
        finally:
            dst.close()  # encrypts everything into CKKS blocks under the new secret key
    finally:
        src.kit.close()
        src.host.close()  # no flush: the old store is about to be replaced
    return docs


def _ledger(home: Path, old: Any, new: Any, stage: Path, report: RekeyReport) -> None:
    from assistant.pipeline.ledger import FILENAME, Ledger

    if not (home / FILENAME).exists():
        return
    entries = Ledger(home, old).entries()  # raises on a broken chain: do not launder it
    target = Ledger(stage, new)
    for entry in entries:
        target.write(entry)
    report.ledger_entries = len(entries)


def _conversations(home: Path, old: Any, new: Any, stage: Path, report: RekeyReport) -> None:
    from assistant.conversations import SUFFIX, ConversationStore
    from assistant.errors import InputError, StoreError

    folder = home / "conversations"
    if not folder.is_dir():
        return
    src = ConversationStore(folder, old)
    dst = ConversationStore(stage / "conversations", new)
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            dst.save(src.load(path.stem))
            report.conversations += 1
        except (StoreError, InputError) as exc:
            report.skipped.append(f"{path.name}: {exc.title} (left as it was)")


def _sealed_files(
    home: Path, old: Any, new: Any, stage: Path, docs: dict[str, str], report: RekeyReport
) -> None:
    """Re-seal each file of `SEALED_FILES` that exists (and a store state file the store step did
    not replace), mapping document keys; one that does not open is left as it was and reported."""
    from encrypted_store.errors import StoreError
    from encrypted_store.verify import HIGH_WATER_AAD

    items = list(SEALED_FILES)
    if not (stage / STORE_STATE).exists():
        items.append(SealedFile(STORE_STATE, HIGH_WATER_AAD))
    for item in items:
        path = home / item.name
        if not path.is_file():
            continue
        try:
            data = old.open(path.read_bytes(), item.aad)
        except StoreError as exc:
            report.skipped.append(f"{item.name}: {exc.message} (left as it was)")
            continue
        if item.doc_keyed is not None:
            doc = json.loads(data)
            field_ = doc.get(item.doc_keyed) if isinstance(doc, dict) else None
            if isinstance(field_, dict):
                doc[item.doc_keyed] = {docs.get(k, k): v for k, v in field_.items()}
                data = json.dumps(doc).encode()
        write_private(stage / item.name, new.seal(data, item.aad))
        report.sealed_files += 1
