"""Encrypted conversation storage (headless): round trips, nothing in clear, tampering detected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.conversations import Conversation, ConversationStore, Turn, to_markdown
from assistant.errors import InputError, StoreError
from assistant.pipeline.types import Outbound, Plan, Source
from encrypted_store.keys import Keyring

SECRET = "levothyroxine 88 mcg after the March labs with Dr Okafor"


def _ring() -> Keyring:
    return Keyring(master_key=os.urandom(32), ckks_secret=b"")


def _conversation() -> Conversation:
    conv = Conversation()
    conv.add(
        Turn(
            question="What dose did Dr Okafor settle on?",
            answer=f"The dose is {SECRET} [1].",
            sources=[Source("r1", "notes/endo.md", SECRET, 0.82)],
            plan=Plan(remote=True, guidance="look at labs", sub_queries=("thyroid dose",)),
            outbound=[Outbound("http://127.0.0.1:9/v1/chat/completions", '{"q": "<PERSON_1>"}')],
            replacements=[("<PERSON_1>", "PERSON")],
            sanitized="What dose did <PERSON_1> settle on?",
        )
    )
    return conv


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c", _ring())
    conv = _conversation()
    store.save(conv)
    loaded = store.load(conv.id)
    assert loaded.to_dict() == conv.to_dict()
    assert loaded.turns[0].sources[0].path == "notes/endo.md"
    assert loaded.turns[0].plan.sub_queries == ("thyroid dose",)
    assert loaded.title == "What dose did Dr Okafor settle on?"


def test_nothing_is_written_in_clear(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c", _ring())
    store.save(_conversation())
    files = list((tmp_path / "c").iterdir())
    assert len(files) == 1
    raw = files[0].read_bytes()
    for needle in (b"Okafor", b"levothyroxine", b"endo.md", b"dose"):
        assert needle not in raw


def test_another_key_or_tampering_or_swapping_is_refused(tmp_path: Path) -> None:
    ring = _ring()
    store = ConversationStore(tmp_path / "c", ring)
    a, b = _conversation(), _conversation()
    store.save(a)
    store.save(b)
    with pytest.raises(StoreError):
        ConversationStore(tmp_path / "c", _ring()).load(a.id)
    path_a = tmp_path / "c" / f"{a.id}.conv"
    path_b = tmp_path / "c" / f"{b.id}.conv"
    path_a.write_bytes(path_b.read_bytes())  # b's blob under a's name: the AAD binds it to b
    with pytest.raises(StoreError):
        store.load(a.id)
    listed = store.list_all()
    assert [c.id for c in listed] == [b.id]
    assert len(store.warnings) == 1
    blob = bytearray(path_b.read_bytes())
    blob[-1] ^= 1
    path_b.write_bytes(bytes(blob))
    assert store.list_all() == []
    assert len(store.warnings) == 2


def test_list_is_newest_first_and_delete_removes(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c", _ring())
    old, new = _conversation(), _conversation()
    old.updated, new.updated = 1_000.0, 2_000.0
    store.save(old)
    store.save(new)
    assert [c.id for c in store.list_all()] == [new.id, old.id]
    assert store.delete(old.id) is True
    assert store.delete(old.id) is False
    assert [c.id for c in store.list_all()] == [new.id]


def test_bad_ids_are_input_errors(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c", _ring())
    with pytest.raises(InputError):
        store.load("../../etc/passwd")
    with pytest.raises(InputError, match="No conversation"):
        store.load("0123456789abcdef")


def test_export_markdown(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c", _ring())
    conv = _conversation()
    store.save(conv)
    out = store.export_markdown(conv.id, tmp_path)
    text = out.read_text(encoding="utf-8")
    assert out.name == f"conversation-{conv.id}.md"
    assert text.startswith("# What dose did Dr Okafor settle on?")
    assert "## 1. What dose did Dr Okafor settle on?" in text
    assert "[1] `notes/endo.md` (score 0.82)" in text
    assert "Sent off this device: 1 request(s)" in text
    local = Conversation()
    local.add(Turn(question="hi", answer="hello", finish_reason="cancelled"))
    md = to_markdown(local)
    assert "Nothing left this device." in md and "stopped before the end" in md
    with pytest.raises(InputError, match="Cannot write"):
        store.export_markdown(conv.id, tmp_path / "missing-dir" / "x.md")
