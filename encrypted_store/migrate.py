"""Stores written before format 2 (one canary at slot 0, bindings without a version, no client state).

The client re-seals every record it can open under the old binding as a pending record of the new
format (one host write per old block, each with the next client state), then `flush()` encrypts them
into new blocks. A crash midway leaves a store that the next open finishes migrating.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import numpy as np

from encrypted_store import scan
from encrypted_store.errors import StoreError
from encrypted_store.host import Row

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
        rows = [(r.tag, r.doc, store._seal(rec, r.tag, None, version)) for r, rec in old]
        state.pending.update({r.tag: version for r, _rec in old})
        host.append(rows, store._next(state))
        store._done(state)
    store.flush()
