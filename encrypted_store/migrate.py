"""Stores written in an older format, brought to the current one when the client opens them.

Format 1 (one canary at slot 0, bindings without a version, no client state): the client re-seals
every record it can open under the old binding as a pending record of the new format (one host write
per old block, each with the next client state), then `flush()` encrypts them into new blocks.
Format 2 (each row's doc value was its document's HMAC, so the host could link a document's rows):
every block whose rows carry such values is rewritten with per-row values, and pending rows are
placed into blocks with them. A crash midway leaves a store that the next open finishes migrating.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import numpy as np

from encrypted_store import scan
from encrypted_store.errors import StoreError
from encrypted_store.host import Row
from encrypted_store.verify import FORMAT

if TYPE_CHECKING:
    from encrypted_store.api import RecordIn
    from encrypted_store.store import EncryptedStore


def _open_v1(store: EncryptedStore, row: Row) -> RecordIn | None:
    from encrypted_store.api import RecordIn

    aad = b"record|" + row.tag + struct.pack("<q", -1 if row.pos is None else row.pos)
    try:
        body = store.keyring.open(row.payload, aad)
    except StoreError:
        store._warnings.append(f"record {row.tag.hex()} failed its integrity check during migration")
        return None
    (size,) = struct.unpack_from("<I", body)
    import json

    head = json.loads(body[4 : 4 + size])
    vector = np.frombuffer(body, dtype="<f4", offset=4 + size)
    return RecordIn(head["id"], head["text"], vector, head["doc"], head["meta"])


def migrate(store: EncryptedStore, fmt: object) -> None:
    """Bring a store in format `fmt` (None: format 1) to the current one; each step is resumable."""
    if isinstance(fmt, int) and fmt > FORMAT:
        raise StoreError(
            f"The store was written by a newer version (format {fmt}; this one knows {FORMAT}).",
            "Upgrade to a version that knows this format.",
        )
    if not isinstance(fmt, int) or fmt < 2:
        migrate_v1(store)
    migrate_rows(store)


def migrate_rows(store: EncryptedStore) -> None:
    """Format 2 -> 3: every row's doc value becomes its own (`_row_doc`), linking no rows."""
    state = store.state()
    for block in sorted(state.blocks):
        kept = store._block_records(state, block)
        if any(row.doc != store._row_doc(row.tag) for row, _rec in kept):
            store._write_block(state, block, kept, [])  # the same slots, re-encrypted, new row values
    store.flush()  # pending rows take their blocks with per-row values


def migrate_v1(store: EncryptedStore) -> None:
    """Bring an old-format store to the current format (nothing to do for an empty one)."""
    host = store.host
    params = store.keyring.ckks_params
    probe = scan.plain_query(store._probe(), params["query_bits"])
    floor = store._high.get(store.store_id)
    res = host.scan_plain(probe)  # lists the blocks and pending rows, whatever the format
    state = store._verify_state(res.state, floor)
    for block in [int(b) for b in res.blocks if int(b) not in state.blocks]:
        opened = [(r, rec) for r in host.block_rows(block) if (rec := _open_v1(store, r)) is not None]
        version = state.counter + 1
        released = [(r.tag, store._seal(rec, r.tag, None, version)) for r, rec in opened]
        state.pending.update({r.tag: version for r, _rec in opened})
        host.drop_block(block, released, store._next(state))
        store._done(state)
    old = [(r, rec) for r in res.pending if r.tag not in state.pending and (rec := _open_v1(store, r))]
    if old:
        version = state.counter + 1
        rows = [(r.tag, store._row_doc(r.tag), store._seal(rec, r.tag, None, version)) for r, rec in old]
        state.pending.update({r.tag: version for r, _rec in old})
        host.append(rows, store._next(state))
        store._done(state)
    store.flush()
