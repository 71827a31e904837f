"""Rank fusion and the per-document cap (pure logic, on hand-made rankings)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from assistant.pipeline.fusion import Candidate, FusionParams, cap_per_doc, rank_fuse
from encrypted_store.lexical import LexHit, LexicalIndex, chunk_stats, tokenize


@dataclass
class _Rec:
    id: str
    doc: str


@dataclass
class _Hit:  # the shape of encrypted_store.api.Hit that fusion reads
    record: _Rec


def dense(*ids: str) -> list[_Hit]:
    return [_Hit(_Rec(i, i.split(".")[0])) for i in ids]


def lex(*ids: str) -> list[LexHit]:
    return [LexHit(i, i.split(".")[0], 1.0) for i in ids]


def test_a_chunk_both_rankings_agree_on_beats_one_found_by_a_single_ranking() -> None:
    fused = rank_fuse([dense("a.1", "b.1")], [lex("c.1", "b.1")], FusionParams())
    assert [c.id for c in fused][0] == "b.1"
    assert {c.id for c in fused} == {"a.1", "b.1", "c.1"}


def test_the_lexical_weight_decides_between_the_two_top_ranks() -> None:
    heavy = rank_fuse([dense("a.1")], [lex("c.1")], FusionParams(lexical_weight=2.0))
    light = rank_fuse([dense("a.1")], [lex("c.1")], FusionParams(lexical_weight=0.5))
    assert heavy[0].id == "c.1" and light[0].id == "a.1"


def test_question_and_each_sub_query_contribute_and_the_question_weighs_more() -> None:
    p = FusionParams(question_weight=1.0, subquery_weight=0.5)
    fused = rank_fuse([dense("q.1"), dense("s.1"), dense("s.1")], [[], [], []], p)
    assert [c.id for c in fused] == ["s.1", "q.1"]  # two sub-queries (0.5 + 0.5) tie-break by count
    assert fused[0].queries == (1, 2) and fused[1].queries == (0,)
    alone = rank_fuse([dense("q.1"), dense("s.1")], [[], []], p)
    assert [c.id for c in alone] == ["q.1", "s.1"]


def test_cap_keeps_at_most_per_doc_chunks_of_one_document_and_fills_from_others() -> None:
    ranked = [Candidate(f"a.{i}", "a") for i in range(6)] + [Candidate("b.0", "b"), Candidate("c.0", "c")]
    out = cap_per_doc(ranked, 4, 2)
    assert [c.id for c in out] == ["a.0", "a.1", "b.0", "c.0"]
    assert [c.id for c in cap_per_doc(ranked, 4, 1)] == ["a.0", "b.0", "c.0"]
    assert len(cap_per_doc(ranked, 3, 10)) == 3  # the cap never makes the list longer than k


def test_cap_refuses_zero() -> None:
    with pytest.raises(ValueError):
        cap_per_doc([], 5, 0)


def test_bm25_finds_the_rare_term_and_stems_queries_like_documents() -> None:
    assert tokenize("When did Odalys adopt the puppies?") == ["odali", "adopt", "puppi"]
    index = LexicalIndex(
        {
            "d1": [chunk_stats("d1.0", "We adopted two puppies from the shelter in Bergen.")],
            "d2": [chunk_stats("d2.0", "The shelter in Bergen was closed on Sunday, the shelter said.")],
            "d3": [chunk_stats("d3.0", "Nothing about animals here at all.")],
        }
    )
    (hits,) = index.search(["adopting a puppy"], 5)
    assert [h.id for h in hits] == ["d1.0"]  # no other chunk shares a term: none is returned
    (hits,) = index.search(["Bergen shelter"], 5)
    assert hits[0].id == "d2.0" and {h.doc for h in hits} == {"d1", "d2"}
    assert index.search(["zzz"], 5) == [[]]


def test_documents_rank_as_a_whole_and_show_their_best_chunk() -> None:
    index = LexicalIndex(
        {
            "june": [
                chunk_stats("june.0", "Date: June 2023. Small talk about the weather and the traffic."),
                chunk_stats("june.1", "I adopted a greyhound called Sorrel."),
            ],
            "may": [chunk_stats("may.0", "Date: May 2023. I adopted a greyhound called Juniper.")],
        }
    )
    (hits,) = index.search(["greyhound adopted in June"], 5)
    assert [(h.doc, h.id) for h in hits] == [("june", "june.1"), ("may", "may.0")]


def test_items_of_a_collection_rank_on_their_own() -> None:
    """A calendar is many events: one event must not be drowned by the whole file's length."""
    events = [f"Event: meeting {i} about budget planning and quarterly figures" for i in range(30)]
    calendar = [chunk_stats(f"cal.{i}", text) for i, text in enumerate(events)]
    calendar.append(chunk_stats("cal.dentist", "Event: Dentist filling with Dr Nasser"))
    letter = [chunk_stats("letter.0", "Your dentist asked us to book a recall. Please call reception.")]
    as_one_file = LexicalIndex({"cal": calendar, "letter": letter})
    (hits,) = as_one_file.search(["next dentist appointment"], 2)
    assert hits[0].doc == "letter"  # control: the long file loses on length alone
    itemised = LexicalIndex({"cal": [[*c, f"event {i}"] for i, c in enumerate(calendar)], "letter": letter})
    (hits,) = itemised.search(["next dentist appointment"], 2)
    assert (hits[0].doc, hits[0].id) == ("cal", "cal.dentist")
    assert len(itemised) == len(calendar) + 1  # every chunk still indexed once


def test_the_session_searches_hybrid_by_default_and_dense_when_asked(tmp_path) -> None:  # noqa: ANN001
    from assistant.config import Settings
    from assistant.pipeline.session import AssistantSession
    from encrypted_store.lexical import CachedLexicon

    hybrid = AssistantSession(Settings(home=tmp_path, retrieval_per_doc=3))._hybrid()
    assert isinstance(hybrid["lexicon"], CachedLexicon) and hybrid["fusion"].per_doc == 3
    assert AssistantSession(Settings(home=tmp_path, retrieval="dense"))._hybrid() == {}


def test_without_pystemmer_the_session_says_how_to_install_it(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import sys

    from assistant.config import Settings
    from assistant.errors import ConfigError
    from assistant.pipeline.session import AssistantSession

    monkeypatch.setitem(sys.modules, "Stemmer", None)  # makes `import Stemmer` raise ImportError
    with pytest.raises(ConfigError) as err:
        AssistantSession(Settings(home=tmp_path))._hybrid()
    assert (
        "private-assistant[lexical]" in err.value.next_step
        and "ASSISTANT_RETRIEVAL=dense" in err.value.next_step
    )
    assert AssistantSession(Settings(home=tmp_path, retrieval="dense"))._hybrid() == {}
