"""SQLite layout of the store (what an untrusted host keeps): ciphertext blocks and sealed rows.

Nothing here is secret: record ids are HMAC tags, a row's doc value is an HMAC of its tag (one per
row: it links no rows), payloads are AES-GCM blobs, blocks are CKKS ciphertexts. WAL mode lets one
writer and many readers work at once; every write is one transaction, so a kill leaves the previous
state or the next, never a mix. sqlite-utils defines the schema and runs the migrations (each one a
savepoint inside the migration's transaction); the hot paths (blob reads and writes) are plain SQL
on the same connection.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from encrypted_store.errors import StoreError


def _v1(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key", not_null={"value"})
    db["records"].create(
        {"tag": bytes, "doc": bytes, "pos": int, "payload": bytes}, pk="tag", not_null={"doc", "payload"}
    )
    db["records"].create_index(["doc"], index_name="records_doc")
    db["records"].create_index(["pos"], index_name="records_pos", unique=True)
    db["blocks"].create(
        {"id": int, "data": bytes, "used": int, "ver": int}, pk="id", not_null={"data", "used", "ver"}
    )


def _v2(db: sqlite_utils.Database) -> None:
    db["manifest"].create({"tag": bytes, "value": bytes}, pk="tag", not_null={"value"})


def _v3(db: sqlite_utils.Database) -> None:
    """The client's sealed state (masks, versions), written with each change it describes."""
    db["state"].create({"id": int, "counter": int, "blob": bytes}, pk="id", not_null={"counter", "blob"})


def _v4(db: sqlite_utils.Database) -> None:
    """Rows' doc values are per row since store format 3: nothing looks rows up by them."""
    db.execute("DROP INDEX IF EXISTS records_doc")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4]
SCHEMA_VERSION = len(MIGRATIONS)  # PRAGMA user_version of a store that has every migration


def corrupt(path: Path, exc: BaseException) -> StoreError:
    return StoreError(
        f"The store database {path} is unreadable ({exc}).",
        "Restore it from a backup, or move it aside and index again to rebuild it.",
    )


class Database:
    """One connection (thread-safe through a lock); schema migrated on open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self.db = sqlite_utils.Database(self.conn)
            self.db.enable_wal()
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            self.conn.execute("SELECT count(*) FROM records").fetchone()
        except sqlite3.DatabaseError as exc:
            raise corrupt(path, exc) from None

    def _migrate(self) -> None:
        with self.write():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"The store was written by a newer version (schema {version}).",
                    "Upgrade to a version that knows this schema.",
                )
            for step in MIGRATIONS[version:]:
                step(self.db)
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction that bumps the generation readers use to refresh caches."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                    if self._has_meta():
                        self.conn.execute(
                            "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE "
                            "SET value = CAST(value AS INTEGER) + 1"
                        )
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                raise corrupt(self.path, exc) from None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: every query inside sees one committed state (WAL snapshot)."""
        with self._lock:
            try:
                self.conn.execute("BEGIN")
                try:
                    yield
                finally:
                    self.conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise corrupt(self.path, exc) from None

    def _has_meta(self) -> bool:
        row = self.conn.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
        return row is not None

    def query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self.conn.execute(sql, tuple(args)).fetchall()
            except sqlite3.DatabaseError as exc:
                raise corrupt(self.path, exc) from None

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.query("SELECT key, value FROM meta")}

    def generation(self) -> int:
        rows = self.query("SELECT value FROM meta WHERE key='generation'")
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        with self._lock:
            # leave one file, not a WAL copy; busy or damaged: the WAL is checkpointed later
            with contextlib.suppress(sqlite3.DatabaseError):
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.close()
