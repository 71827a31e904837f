"""`assistant init --rekey`: everything re-encrypted under new keys, nothing lost, crash-safe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from assistant import wiring
from assistant.config import Settings, load_settings
from assistant.conversations import Conversation, ConversationStore, Turn
from assistant.errors import ConfigError, StoreError
from assistant.ingest import manifest
from assistant.ingest.manifest import DocKeys
from assistant.pipeline.ledger import FILENAME, Ledger
from assistant.rekey import STAGE, VOCABULARY, rekey
from assistant.wiring import STORE_STATE, open_store
from encrypted_store import errors as se
from encrypted_store import keys
from encrypted_store.api import RecordIn
from encrypted_store.verify import HighWater
from tests.helpers import FAST_KDF, ROOT, run_cli

PW = "rekey pass"
LETTER = "/home/alice/letters/okafor.txt"
VOCAB_AAD = b"private-assistant/vocabulary/v1"  # assistant.privacy.vocabulary.AAD (that module's format)


def vectors(n: int) -> np.ndarray:
    x = np.random.default_rng(11).standard_normal((n, 384)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def populate(settings: Settings) -> tuple[keys.Keyring, str]:
    """Keys, a store (placed and pending records, manifest), a ledger and a conversation."""
    ring = wiring.create_keys(settings, PW, kdf=FAST_KDF)
    st = open_store(settings, ring)
    docs = DocKeys(ring)
    path = LETTER
    x = vectors(40)
    st.add([RecordIn(f"r{i}", f"letter {i}", v, docs(path), {"path": path}) for i, v in enumerate(x[:30])])
    st.flush()
    st.add([RecordIn(f"p{i}", f"pending {i}", v, "other-doc") for i, v in enumerate(x[30:])])
    lex = [[f"r{i}", 1, {"letter": 1}] for i in range(30)]  # the record ids, as the indexer lists them
    st.manifest_put(docs(path), {"path": path, "sha256": "ab", "chunks": 30, "lexical": lex})
    st.backend.close()  # keep the pending ones pending
    st.kit.close()
    Ledger(settings.home, ring).append("http://planner/v1", "sanitized body", "sent", reply="ok")
    conv = Conversation()
    conv.add(Turn(question="dose?", answer="50 mcg"))
    ConversationStore(settings.home / "conversations", ring).save(conv)
    vocabulary = {"version": 1, "docs": {docs(path): [["Okafor", "NAME"]], "gone-doc": [["Ng", "NAME"]]}}
    (settings.home / VOCABULARY.name).write_bytes(ring.seal(json.dumps(vocabulary).encode(), VOCAB_AAD))
    return ring, conv.id


def check_readable(settings: Settings, ring: keys.Keyring, conv_id: str) -> None:
    st = open_store(settings, ring)
    x = vectors(40)
    assert st.count() == 40
    assert st.search(x[7], k=1)[0][0].record.id == "r7"
    assert st.search(x[33], k=1)[0][0].record.text == "pending 3"
    assert st.manifest_get_all()[DocKeys(ring)(LETTER)]["chunks"] == 30
    assert st.last_warnings == []
    # the client state file belongs to this store, under these keys: rollback checks go on
    assert HighWater(ring, settings.home / STORE_STATE).get(st.store_id) == st.state().counter > 0
    st.close()
    vocabulary = json.loads(ring.open((settings.home / VOCABULARY.name).read_bytes(), VOCAB_AAD))
    assert vocabulary["docs"] == {DocKeys(ring)(LETTER): [["Okafor", "NAME"]], "gone-doc": [["Ng", "NAME"]]}
    assert [e.body for e in Ledger(settings.home, ring).entries()] == ["sanitized body"]
    assert ConversationStore(settings.home / "conversations", ring).load(conv_id).turns[0].answer == "50 mcg"


def test_rekey_re_encrypts_everything_under_new_keys() -> None:
    settings = load_settings()
    old, conv_id = populate(settings)
    check_readable(settings, old, conv_id)  # control: the checks pass on the old keys first
    report = rekey(settings, PW)
    assert (report.records, report.manifest, report.ledger_entries, report.conversations) == (40, 1, 1, 1)
    assert report.sealed_files == 1 and report.skipped == []
    new = wiring.unlock(settings, PW)
    assert new.master_key != old.master_key and new.ckks_secret != old.ckks_secret
    check_readable(settings, new, conv_id)
    st = open_store(settings, new)
    entry = manifest.load(st)[DocKeys(new)(LETTER)]  # document keys moved; record ids stayed
    assert st.get(["r0"])[0].doc == entry.doc
    assert manifest.remove(st, [entry]) == 30 and st.count() == 10
    st.close()
    with pytest.raises(se.MismatchError):  # the old keys open nothing any more
        open_store(settings, old)
    with pytest.raises(StoreError):
        Ledger(settings.home, old).entries()
    with pytest.raises(StoreError):
        ConversationStore(settings.home / "conversations", old).load(conv_id)
    assert not (settings.home / STAGE).exists()


def test_rekey_without_an_embedded_store_reseals_the_state_file() -> None:
    """A data dir that used a store server before: its state file stays readable (and checked)."""
    settings = load_settings()
    old = wiring.create_keys(settings, PW, kdf=FAST_KDF)
    HighWater(old, settings.home / STORE_STATE).raise_to("a-remote-store", 7)
    report = rekey(settings, PW)
    assert report.sealed_files == 1 and report.records == 0 and not settings.store_path.exists()
    new = wiring.unlock(settings, PW)
    assert HighWater(new, settings.home / STORE_STATE).get("a-remote-store") == 7
    with pytest.raises(se.StoreError, match="corrupt"):  # control: the old keys no longer open it
        HighWater(old, settings.home / STORE_STATE).get("a-remote-store")


def test_rekey_refuses_a_remote_store_and_a_broken_ledger() -> None:
    settings = load_settings()
    populate(settings)
    with pytest.raises(ConfigError, match="store server"):
        rekey(load_settings(store_url="http://127.0.0.1:9", store_token="t"), PW)
    before = settings.keyfile.read_bytes()
    path = settings.home / FILENAME
    path.write_bytes(path.read_bytes() + b"\0\0\0\x05junk!")
    with pytest.raises(StoreError, match="ledger"):
        rekey(settings, PW)
    assert settings.keyfile.read_bytes() == before and not (settings.home / STAGE).exists()
    with pytest.raises(se.WrongPassphrase):
        rekey(settings, "wrong")


KILL = """
import os, sys
from assistant.config import load_settings
from assistant import rekey
from encrypted_store import keys
target, when = sys.argv[1], int(sys.argv[2])
stage = os.path.join(os.environ["ASSISTANT_HOME"], ".rekey") + os.sep
calls = [0]
real = os.replace if target != "write_keys" else keys.write_keys
def dying(*args, **kwargs):
    src, dest = [os.path.abspath(str(a)) for a in args[:2]] if target != "write_keys" else ["", ""]
    moved = src.startswith(stage) and not dest.startswith(stage)  # a staged file over its old copy
    counted = {
        "write_keys": True,
        "stage": dest.startswith(stage),  # a file written while staging
        "swap": moved,
        "keys": moved and os.path.basename(dest) == "keys.json",
    }[target]
    calls[0] += counted
    if counted and calls[0] == when:
        os._exit(9)  # as abrupt as a kill: no cleanup, no finally
    return real(*args, **kwargs)
if target == "write_keys":
    keys.write_keys = dying
else:
    os.replace = dying
rekey.rekey(load_settings(), "rekey pass")
"""


def _killed(home: Path, target: str, when: int) -> int:
    env = {**os.environ, "ASSISTANT_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(KILL), target, str(when)], env=env, cwd=ROOT)
    return done.returncode


# killed while staging (key file, or the n-th file written there), or during the swap (after the
# n-th file moved over its old copy, or at the key file, which moves last)
@pytest.mark.parametrize(
    ("target", "when", "ready"),
    [
        ("write_keys", 1, False),
        ("stage", 1, False),
        ("stage", 3, False),
        ("swap", 1, True),
        ("swap", 3, True),
        ("keys", 1, True),
    ],
)
def test_a_kill_during_rekey_loses_nothing(target: str, when: int, ready: bool) -> None:
    settings = load_settings()
    old, conv_id = populate(settings)
    assert _killed(settings.home, target, when) == 9
    assert (settings.home / STAGE).exists()  # it did die in the middle
    assert (settings.home / STAGE / "READY").exists() == ready
    listed = run_cli(
        "ledger", "--json", env={"ASSISTANT_HOME": str(settings.home), "ASSISTANT_PASSPHRASE": PW}
    )
    assert listed.returncode == 0, listed.stderr  # the unlock finished (or undid) the rekey first
    assert json.loads(listed.stdout)[0]["body"] == "sanitized body"
    assert not (settings.home / STAGE).exists()
    ring = wiring.unlock(settings, PW)
    assert (ring.master_key != old.master_key) == ready  # before READY: the old keys; after: the new
    check_readable(settings, ring, conv_id)


def test_init_rekey_command() -> None:
    settings = load_settings()
    _old, conv_id = populate(settings)
    env = {"ASSISTANT_HOME": str(settings.home), "ASSISTANT_PASSPHRASE": PW}
    done = run_cli("init", "--rekey", "--json", env=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "rekeyed" and out["records"] == 40 and out["skipped"] == []
    check_readable(settings, wiring.unlock(settings, PW), conv_id)


def test_the_vocabulary_entry_names_the_vocabulary_file() -> None:
    from assistant.privacy import vocabulary
    from assistant.rekey import VOCABULARY

    assert (VOCABULARY.name, VOCABULARY.aad) == (vocabulary.FILENAME, vocabulary.AAD)
