"""The write half of `EncryptedStore`: add, place into CKKS blocks, delete, compact.

Every write carries the client's next sealed state (`encrypted_store.verify.ClientState`) and is
atomic with it on the host; the client raises its own high-water mark only once the host took it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from encrypted_store.api import RecordIn
from encrypted_store.ckks import CkksKit, N
from encrypted_store.errors import InputError
from encrypted_store.host import Row, StoreHost
from encrypted_store.verify import CANARIES, BlockState, ClientState, canary_vectors, decoy_tag, slot_order

FLUSH_AT = 1024  # pending records that trigger encryption into CKKS blocks during add()
PER_BLOCK = N - CANARIES  # records per block


class StoreWrites:
    """Writes of `EncryptedStore` (a mixin: it uses the store's host, keys, state and sealing)."""

    host: StoreHost
    kit: CkksKit
    dim: int
    _canary_key: bytes
    _warnings: list[str]
    _damaged: set[int]

    def add(self, records: Sequence[RecordIn]) -> None:
        seen: dict[bytes, RecordIn] = {}
        for rec in records:
            vec = np.asarray(rec.vector)
            if vec.shape != (self.dim,):
                raise InputError(
                    f"Dimension mismatch: record {rec.id!r} has shape {vec.shape}, the store holds "
                    f"{self.dim}-dim vectors.",
                    "Embed with the model the store was built with, or index into a new store.",
                )
            if not np.all(np.isfinite(vec)) or not 0.5 < float(np.linalg.norm(vec)) < 1.5:
                raise InputError(f"Record {rec.id!r} is not a unit vector.", "Normalize embeddings first.")
            if self._tag(rec.id) in seen:
                raise InputError(f"Record id {rec.id!r} appears twice in one add().", "Make ids unique.")
            seen[self._tag(rec.id)] = rec
        if seen:
            state = self.state()
            self._forget(state, self.host.fetch(tags=list(seen)))  # replaced records leave their slots
            version = state.counter + 1
            rows = [
                (tag, self._row_doc(tag), self._seal(rec, tag, None, version)) for tag, rec in seen.items()
            ]
            state.pending.update({tag: version for tag in seen})
            self.host.append(rows, self._next(state))
            self._done(state)
            if len(state.pending) >= FLUSH_AT:
                self.flush()

    def _forget(self, state: ClientState, rows: list[Row]) -> int:
        """Take the verified records among `rows` out of `state`; returns how many."""
        gone = 0
        for row in rows:
            version = state.version_of(row.tag, row.pos)
            rec = self._open(row, version) if version is not None else None
            if rec is None or self._tag(rec.id) != row.tag:
                continue
            if row.pos is None:
                state.pending.pop(row.tag, None)
            else:
                state.blocks[row.pos // N].live[row.pos % N] = False
            gone += 1
        return gone

    def _block_records(self, state: ClientState, block: int) -> list[tuple[Row, RecordIn]]:
        """The live records of one block, opened (decoy rows and dead slots are passed over)."""
        out = []
        for row in self.host.block_rows(block):
            version = state.version_at(row.pos) if row.pos is not None else None
            if version is not None and (rec := self._open(row, version)) is not None:
                out.append((row, rec))
        return out

    def flush(self) -> int:
        """Encrypt pending records into CKKS blocks (filling the last block first); returns how many."""
        state = self.state()
        if not state.pending:
            return 0
        rows = [r for r in self.host.fetch(tags=list(state.pending)) if r.pos is None]
        pending = [(r, rec) for r in rows if (rec := self._open(r, state.pending.get(r.tag))) is not None]
        if not pending:
            return 0
        count = len(pending)
        block = max(state.blocks, default=-1)
        tail = state.blocks.get(block)
        if tail is not None and tail.filled < N:
            keep = self._block_records(state, block)
            room = N - tail.filled
            self._write_block(state, block, keep, pending[:room])
            pending = pending[room:]
        for start in range(0, len(pending), PER_BLOCK):
            block += 1
            self._write_block(state, block, [], pending[start : start + PER_BLOCK])
        return count

    def _write_block(
        self,
        state: ClientState,
        block: int,
        keep: list[tuple[Row, RecordIn]],
        new: list[tuple[Row, RecordIn]],
    ) -> None:
        """(Re)write a block: `keep` records stay at their slots, `new` ones take the next in its order."""
        epoch = state.counter + 1
        old = state.blocks.get(block)
        birth, filled = (old.birth, old.filled) if old is not None else (epoch, CANARIES)
        order = slot_order(self._canary_key, block, birth)
        items = [(int(r.pos) % N, r, rec) for r, rec in keep if r.pos is not None and r.pos // N == block]
        items += [(int(order[filled + i]), r, rec) for i, (r, rec) in enumerate(new)]
        vectors = np.zeros((N, self.dim), dtype=np.float32)
        vectors[order[:CANARIES]] = canary_vectors(self._canary_key, block, birth, self.dim)
        live = np.zeros(N, dtype=bool)
        placed = []
        for slot, row, rec in items:
            pos = block * N + slot
            vectors[slot] = np.asarray(rec.vector, dtype=np.float32)
            live[slot] = True
            placed.append((row.tag, self._row_doc(row.tag), pos, self._seal(rec, row.tag, pos, epoch)))
            state.pending.pop(row.tag, None)
        for i, slot in enumerate(order[:CANARIES]):  # decoy rows: canaries look like records to the host
            tag, doc = decoy_tag(self._canary_key, block, birth, i)
            pos = block * N + int(slot)
            placed.append((tag, doc, pos, self._seal_body(bytes(4), tag, pos, epoch)))
        state.blocks[block] = BlockState(epoch, birth, filled + len(new), live)
        data = self.kit.encrypt_block(vectors)
        self.host.write_block(block, data.tobytes(), placed, self._next(state))
        self._done(state)

    def delete(self, ids: Iterable[str]) -> int:
        tags = [self._tag(i) for i in ids]
        state = self.state()
        gone = self._forget(state, self.host.fetch(tags=tags))
        self.host.delete(tags, self._next(state))
        self._done(state)
        return gone

    def compact(self, min_live: float = 0.5) -> int:
        """Re-encrypt blocks whose live share fell below `min_live`, and damaged ones; returns how many."""
        self._warnings = []
        damaged = self.damaged_blocks()
        state = self.state()
        last = max(state.blocks, default=-1)
        dropped = 0
        for block, bs in sorted(state.blocks.items()):
            live = int(bs.live.sum())
            if block not in damaged:
                if bs.filled == N and live >= min_live * PER_BLOCK:
                    continue
                if bs.filled < N and block == last and live == bs.filled - CANARIES:
                    continue  # the open tail block: flush() fills it
            opened = self._block_records(state, block)
            version = state.counter + 1
            released = [(r.tag, self._seal(rec, r.tag, None, version)) for r, rec in opened]
            del state.blocks[block]
            state.pending.update({r.tag: version for r, _rec in opened})
            self.host.drop_block(block, released, self._next(state))
            self._done(state)
            dropped += 1
        self.flush()
        self.host.vacuum()
        return dropped
