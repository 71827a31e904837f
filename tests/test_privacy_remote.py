"""Nothing private reaches the (recording, stand-in) remote planner, in any spelling; the private
vocabulary is sealed at rest, refuses values only the records know, and shrinks with `index --forget`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import StoreError
from assistant.pipeline.events import PlanReady
from assistant.pipeline.guard import OutboundRefused
from assistant.pipeline.remote import RemotePlanner
from assistant.pipeline.session import AssistantSession
from assistant.privacy.normalize import key
from assistant.privacy.vocabulary import PrivateVocabulary
from encrypted_store.keys import Keyring
from tests.remote_standin import RemoteStandin

TERM = "Project Kestrelwing"
# (question, private value): each spelling trick once, with values written for this test
TRICKS = [
    ("Where is my chart number 07-339-218 from the clinic?", "07-339-218"),
    ("Is the recall for VIN 2T1BURHE0JC043821 done?", "2T1BURHE0JC043821"),
    ("What did talulah abernethy-okafor send me?", "abernethy-okafor"),
    ("When did dr. vasquez-lindqvist sign the form?", "vasquez-lindqvist"),
    ("did my brother tomasz call?", "tomasz"),
    ("Call the office on 020 7946 0381 or +44 20 7946 0381.", "7946 0381"),
    ("Which form lists ssn 612.33.4087?", "612.33.4087"),
    ("Was rent paid to GB29 NWBK 6016 1331 9268 19?", "6016 1331 9268 19"),
    ("Parcel for 88 larkspur crescent, hebden bridge", "larkspur crescent"),
    ("status of project-kestrelwing?", "kestrelwing"),
    ("status of project\u200bkestrelwing?", "kestrelwing"),
    ("status of Project K\u0435strelwing?", "kestrelwing"),  # Cyrillic e
    ("STATUS OF PROJECT KESTRELWING?", "kestrelwing"),
]
RECORD = (
    "Minutes of the allotment meeting. Grace Bell chaired; Harbor Lights Choir will use the hall.\n\n"
    "Contact: grace.bell@example.org, locker 4471-B."
)


def ring() -> Keyring:
    return Keyring(master_key=os.urandom(32), ckks_secret=b"", ckks_params={})


def squeezed(text: str) -> str:
    return key(text).replace(" ", "")


def test_every_spelling_trick_reaches_the_remote_only_as_a_placeholder(tmp_path: Path) -> None:
    with RemoteStandin() as remote:
        settings = Settings(home=tmp_path, remote_url=remote.url, private_terms=[TERM])
        keys = ring()  # one data dir, one key: its ledger is chained under it
        for question, value in TRICKS:
            assert squeezed(value) in squeezed(question)  # control: the check below can find it
            session = AssistantSession(settings, keyring=keys, local_planning=False)
            events = list(session.plan(question))
            assert isinstance(events[-1], PlanReady) and events[-1].plan.remote, question
            sent = remote.requests[-1].user_text()
            assert squeezed(value) not in squeezed(sent), (question, sent)
            assert "<" in sent and ">" in sent, sent
    assert len(remote.requests) == len(TRICKS)


def test_vocabulary_is_sealed_at_rest(tmp_path: Path) -> None:
    keys = ring()
    vocab = PrivateVocabulary(tmp_path, keys)
    vocab.update_documents([("doc-a", RECORD)])
    values = vocab.values()
    assert {"Grace Bell", "grace.bell@example.org"} <= values

    def readable(value: str) -> list[Path]:
        needles = [value.encode(), value.casefold().encode(), value.encode("utf-16-le")]
        return [p for p in tmp_path.rglob("*") if p.is_file() and any(n in p.read_bytes() for n in needles)]

    assert all(readable(v) == [] for v in values)
    (tmp_path / "control.txt").write_text("chair: Grace Bell")  # the search does find a clear value
    assert readable("Grace Bell") == [tmp_path / "control.txt"]
    assert PrivateVocabulary.load(tmp_path, keys).items() == vocab.items()
    with pytest.raises(StoreError, match="vocabulary") as err:
        PrivateVocabulary.load(tmp_path, ring())  # other keys cannot read it
    assert "assistant index" in err.value.next_step
    (tmp_path / "vocabulary.sealed").write_bytes(b"\x01" + b"0" * 40)  # damaged: the same clear message
    with pytest.raises(StoreError, match="vocabulary"):
        PrivateVocabulary.load(tmp_path, keys)


def test_value_only_in_the_records_is_masked_and_refused(tmp_path: Path) -> None:
    question = "did grace bell ask about the choir?"  # common words: no pattern knows this is a person
    keys = ring()
    bare = AssistantSession(Settings(home=tmp_path / "empty"), keyring=keys)
    assert "grace bell" in bare.sanitizer.sanitize(question).text  # control: leaks without the records
    bare.guard.check(RemotePlanner(bare.settings, bare.guard, None).body(question))

    PrivateVocabulary(tmp_path, keys).update_documents([("doc-a", RECORD)])
    session = AssistantSession(Settings(home=tmp_path), keyring=keys)
    assert "grace" not in session.sanitizer.sanitize(question).text.lower()
    with pytest.raises(OutboundRefused, match="records"):
        session.guard.check(RemotePlanner(session.settings, session.guard, None).body(question))


@pytest.mark.slow  # the real embedder and store, through the CLI
def test_vocabulary_follows_index_and_forget(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli.main import main
    from tests.fixtures.ingest.helpers import open_real_store

    monkeypatch.setenv("ASSISTANT_PASSPHRASE", "test passphrase")
    _settings, keys, store = open_real_store(isolated_home)
    store.close()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(RECORD)
    (docs / "b.txt").write_text("Dentist visit with Dr. Ottoline Vasquez-Lindqvist at Brackenfield Dental.")

    def cli(*args: str) -> None:
        try:
            main(list(args))
        except SystemExit as exc:
            assert not exc.code, capsys.readouterr()

    cli("index", str(docs), "--json")
    values = PrivateVocabulary.load(isolated_home, keys).values()
    assert {"Grace Bell", "Ottoline Vasquez-Lindqvist"} <= values
    clear = [p for p in isolated_home.rglob("*") if p.is_file() and b"Vasquez-Lindqvist" in p.read_bytes()]
    assert clear == []  # nothing in the data dir holds it in clear (store, manifest, vocabulary)

    cli("index", "--forget", str(docs / "a.txt"), "--json")
    after = PrivateVocabulary.load(isolated_home, keys).values()
    assert "Grace Bell" not in after and "grace.bell@example.org" not in after
    assert "Ottoline Vasquez-Lindqvist" in after and len(after) < len(values)
