"""Hybrid retrieval on the real encrypted store: the lexical side follows re-index and forget, and a
store server on 127.0.0.1 (behind a recording proxy) never sees a query term."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.ingest import manifest
from assistant.ingest.indexer import index_paths
from assistant.pipeline.fusion import FusionParams
from assistant.pipeline.retrieval import retrieve
from assistant.wiring import create_keys, open_store
from encrypted_store import lexical, server
from tests.fixtures.ingest.helpers import HashEmbedder, open_real_store

FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
TOKEN = "test-token-hybrid"
RARE = "quorvaline"  # a made-up drug name: only the lexical side can match it


def write_notes(folder: Path, special: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(6):
        (folder / f"note-{i}.txt").write_text(f"Shopping list {i}: bread, apples, tea and soap.\n")
    (folder / "pharmacy.txt").write_text(f"The pharmacy swapped my tablets for {special}, 20 mg daily.\n")


def hybrid(store: object, query: str) -> list[str]:
    got = retrieve(
        store, HashEmbedder(), [query], k=3, lexicon=lexical.CachedLexicon(), fusion=FusionParams()
    )
    return [Path(r.meta["path"]).name for r in got]


def test_lexical_side_follows_reindex_and_forget(isolated_home: Path, tmp_path: Path) -> None:
    _settings, ring, store = open_real_store(isolated_home)
    notes = tmp_path / "notes"
    write_notes(notes, RARE)
    index_paths([str(notes)], store, HashEmbedder(), ring)
    assert hybrid(store, f"{RARE} dose")[0] == "pharmacy.txt"
    assert lexical.load(store).search([RARE], 5)[0][0].doc in manifest.load(store)

    write_notes(notes, "brimzolate")  # the file changes: its old term must leave the lexical index
    index_paths([str(notes)], store, HashEmbedder(), ring)
    index = lexical.load(store)
    assert index.search([RARE], 5) == [[]]
    assert hybrid(store, "brimzolate dose")[0] == "pharmacy.txt"

    manifest.forget(store, [str(notes / "pharmacy.txt")])
    assert lexical.load(store).search(["brimzolate"], 5) == [[]]
    assert "pharmacy.txt" not in hybrid(store, "brimzolate dose")
    store.close()


def test_cached_lexicon_reloads_when_the_store_changes(isolated_home: Path, tmp_path: Path) -> None:
    _settings, ring, store = open_real_store(isolated_home)
    notes = tmp_path / "notes"
    write_notes(notes, RARE)
    index_paths([str(notes)], store, HashEmbedder(), ring)
    cache = lexical.CachedLexicon()
    first = cache.get(store)
    assert cache.get(store) is first  # unchanged store: no reload
    (notes / "extra.txt").write_text("A second pharmacy note about brimzolate.\n")
    index_paths([str(notes)], store, HashEmbedder(), ring)
    assert cache.get(store) is not first and cache.get(store).search(["brimzolate"], 5)[0]
    store.close()


class RecordingProxy:
    """A TCP forwarder on 127.0.0.1 that keeps every byte in both directions (what a host sees)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.seen = target, bytearray()
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                with self.lock:
                    self.seen += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def holds(self, term: str) -> bool:
        with self.lock:
            return term.lower().encode() in bytes(self.seen).lower()

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[RecordingProxy]:
    srv = server.serve(tmp_path / "server" / "store.db", "127.0.0.1", 0, TOKEN)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    proxy = RecordingProxy(("127.0.0.1", srv.server_address[1]))
    yield proxy
    proxy.close()
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("encrypted_query", [None, True])  # None: the default (encrypted when remote)
def test_a_hybrid_search_sends_no_query_term_to_the_store_host(
    proxied: RecordingProxy, tmp_path: Path, encrypted_query: bool | None
) -> None:
    settings = load_settings(store_url=f"http://127.0.0.1:{proxied.port}", store_token=TOKEN)
    ring = create_keys(settings, "pw", kdf=FAST_KDF)
    store = open_store(settings, ring)
    notes = tmp_path / "notes"
    write_notes(notes, RARE)
    index_paths([str(notes)], store, HashEmbedder(), ring)
    store.flush()
    assert proxied.seen and not proxied.holds(RARE)  # indexing: sealed text and term counts only
    proxied.clear()

    got = retrieve(
        store,
        HashEmbedder(),
        [f"What is the {RARE} dosage?", f"{RARE} pharmacy tablets"],
        k=3,
        encrypted_query=encrypted_query,
        lexicon=lexical.CachedLexicon(),
    )
    assert Path(got[0].meta["path"]).name == "pharmacy.txt"  # found by its term, through this host
    assert proxied.seen, "the search went through the proxy"
    # words of six letters or more: the encrypted query is megabytes of random bytes, where a
    # given four-letter word turns up by chance in about one search of twenty
    for term in (RARE, lexical.tokenize(RARE)[0], "pharmacy", "dosage", "tablets"):
        assert not proxied.holds(term), term

    # control: a request that does carry the term is caught by the same check
    conn = http.client.HTTPConnection("127.0.0.1", proxied.port, timeout=10)
    conn.request("GET", f"/search?terms={RARE}")  # in the request line: read before any auth check
    conn.getresponse().read()
    conn.close()
    assert proxied.holds(RARE)
    store.close()


def test_the_fetch_after_fusion_always_asks_for_k_ids(isolated_home: Path, tmp_path: Path) -> None:
    _settings, ring, store = open_real_store(isolated_home)
    notes = tmp_path / "notes"
    write_notes(notes, RARE)
    index_paths([str(notes)], store, HashEmbedder(), ring)
    asked: list[list[str]] = []
    real_get = store.get

    def spy_get(ids: list[str]) -> list:
        asked.append(list(ids))
        return real_get(ids)

    store.get = spy_get
    cache = lexical.CachedLexicon()
    for query in (f"{RARE} dose", "nothing matches this xyzzy", "bread apples tea soap"):
        asked.clear()
        retrieve(store, HashEmbedder(), [query], k=3, lexicon=cache)
        assert [len(a) for a in asked] == [3], query  # one fetch, k ids, whatever the lexical side found
    store.close()
