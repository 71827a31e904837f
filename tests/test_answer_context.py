"""The session's compact context weighs words by their rarity in the whole on-device index: real
indexer, real encrypted store, real MiniLM; the answer model is a fake that records its prompts."""

from __future__ import annotations

import pytest

from assistant import wiring
from assistant.config import Settings
from assistant.ingest.indexer import index_paths
from assistant.pipeline.session import AssistantSession
from models.base import SamplingParams
from tests.fake_model import FakeChatModel
from tests.helpers import FAST_KDF

HEAD = "Patient: Ilka Brandvold, born 1964, record 88213, Northgate Family Practice, 5 Quarry Lane."
FACT = "Dr. Sorensen sets your iron tablet dose at 65 mg daily."
OTHER = [
    "Your ferritin in {m} was {n} ng/mL.",
    "The practice is closed in {m} for staff training.",
    "Bring your insurance card to the visit in {m}.",
    "Your blood pressure in {m} was {n} over 80.",
    "The flu vaccine clinic runs through {m}.",
]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September"]
QUESTION = "I am Ilka Brandvold, born 1964, of Northgate Family Practice. What dose did Dr. Sorensen set?"


@pytest.fixture(scope="module")
def letters_home(tmp_path_factory: pytest.TempPathFactory):
    home, docs = tmp_path_factory.mktemp("context-home"), tmp_path_factory.mktemp("letters")
    (docs / "sorensen.txt").write_text(f"{HEAD}\n{FACT}\n")
    for i, month in enumerate(MONTHS):
        body = OTHER[i % len(OTHER)].format(m=month, n=30 + 9 * i)
        (docs / f"letter-{i}.txt").write_text(f"{HEAD}\n{body}\n")
    settings = Settings(home=home)
    ring = wiring.create_keys(settings, "context test", kdf=FAST_KDF)
    embedder = wiring.embedder(settings)
    store = wiring.open_store(settings, ring)
    index_paths([str(docs)], store, embedder, ring)
    store.close()
    return home, ring, embedder


def prompt_for(letters_home, **kw: object) -> str:
    home, ring, embedder = letters_home
    settings = Settings(home=home, context_tokens=30)  # the fake model counts words
    model = FakeChatModel()
    session = AssistantSession(
        settings, keyring=ring, model=model, embedder=embedder, params=SamplingParams(max_tokens=8)
    )
    for name, value in kw.items():
        setattr(session, name, value)
    list(session.ask(QUESTION))
    session.close()
    return model.history[-1][-1].content


@pytest.mark.slow
def test_the_session_weighs_words_by_their_rarity_in_the_index(letters_home) -> None:
    assert FACT in prompt_for(letters_home)
    # control: weighed within the retrieved letters alone, the shared letterhead takes the budget
    assert FACT not in prompt_for(letters_home, _index_idf=lambda: None)
