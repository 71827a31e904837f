"""Compact context and evidence sentences: on-device sentence scoring over records written here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.pipeline.answer import COMPACT_SYSTEM, compact_messages
from assistant.pipeline.passages import compact_context, evidence, split_sentences
from assistant.pipeline.session import with_evidence
from assistant.pipeline.types import Answer, Source

FACT = "The kayak rental at Lake Wendell costs 38 dollars per afternoon, paid at the boathouse."
FILLER = [
    "Dear Tomasz, thank you for the lovely weekend.",
    "The weather was grey on Saturday but the children did not mind.",
    "We finally repainted the fence behind the shed.",
    "Grandmother sends her regards and asks about the new job.",
    "The neighbours adopted a grey cat called Pickle.",
    "Our train back was twenty minutes late because of works near Ossining.",
]


@dataclass
class Rec:
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


def letter() -> Rec:
    text = " ".join(FILLER[:3] + [FACT] + FILLER[3:]) + "\nBest wishes, Ilse"
    return Rec(text, {"path": "mail/ilse.eml", "date": "2025-06-02", "title": "Weekend"})


def others() -> list[Rec]:
    return [
        Rec("Meeting notes. The budget review moved to Thursday. Anna owns the slides.", {"path": "n/1.md"}),
        Rec("Pharmacy receipt. Ibuprofen 200 mg, 24 tablets. Total 7.49.", {"path": "r/2.txt"}),
    ]


def rendered(question: str, records: list[Rec], budget: int = 60) -> str:
    return "\n".join(p.render() for p in compact_context(question, records, budget=budget))


def test_compacted_context_keeps_the_sentence_holding_the_fact() -> None:
    records = [*others(), letter()]  # the fact's record is not even ranked first
    text = rendered("How much does the kayak rental at Lake Wendell cost?", records)
    assert FACT in text
    assert "[3] 2025-06-02 | ilse.eml: " in text  # date and file name, no directories
    assert "Pickle" not in text  # control: unrelated sentences of the same record were dropped
    # control: a question about something else does not keep the fact, so the check above can fail
    assert FACT not in rendered("Who owns the slides for the budget review?", records, budget=30)


def test_passages_are_whole_sentences_within_the_budget() -> None:
    records = [letter(), *others()]
    words = []
    for budget in (20, 45, 90):
        passages = compact_context("kayak rental cost budget review", records, budget=budget)
        cost = sum(len(s) // 4 + 2 for p in passages for s in p.sentences)
        assert cost <= budget
        for p in passages:
            whole = split_sentences(records[p.number - 1].text)
            assert all(s in whole for s in p.sentences)  # never cut mid-sentence
        words.append(sum(len(p.render()) for p in passages))
    assert words[0] < words[1] < words[2]  # a larger budget keeps more


def test_compact_prompt_starts_with_the_fixed_system_prompt() -> None:
    history = [("earlier question", "earlier answer")]
    messages, passages = compact_messages("What does the kayak rental cost?", "", [letter()], history)
    assert messages[0].content == COMPACT_SYSTEM  # same bytes every turn: the reusable prefix
    assert messages[1].content == "earlier question" and FACT in messages[-1].content
    assert [p.number for p in passages] == [1]


def test_evidence_comes_from_the_cited_records_only() -> None:
    records = [*others(), letter()]
    answer = "The kayak rental costs 38 dollars per afternoon [3]."
    retrieved = [_Retrieved(r.text) for r in records]
    sources = [Source(f"r{n}", f"p{n}", "", 0.5) for n in range(1, 4)]
    out = with_evidence("How much is the kayak rental?", answer, retrieved, sources)
    assert out[2].evidence == (FACT,)
    assert out[0].evidence == () and out[1].evidence == ()
    # control: cite the receipt instead and its sentence is chosen, the letter's is not
    receipt = with_evidence("How much was the ibuprofen?", "It cost 7.49 [2].", retrieved, sources)
    assert receipt[1].evidence and "7.49" in receipt[1].evidence[-1] and receipt[2].evidence == ()
    assert Answer("x", sources=out).to_json()["sources"][2]["evidence"] == [FACT]


def test_evidence_without_citations_scores_every_record() -> None:
    texts = [r.text for r in [*others(), letter()]]
    chosen = evidence("kayak cost?", "It costs 38 dollars per afternoon.", texts)
    assert chosen[2] == (FACT,) and chosen[0] == () and chosen[1] == ()


@dataclass
class _Retrieved:
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


def test_sources_panel_shows_evidence_of_cited_sources_only() -> None:
    from assistant.tui.widgets.panels import render_evidence

    shown = render_evidence(
        [Source("r1", "mail/ilse.eml", "", 0.8, evidence=(FACT,)), Source("r2", "n/1.md", "", 0.5)]
    )
    assert "[1] mail/ilse.eml" in shown.plain and FACT in shown.plain
    assert "n/1.md" not in shown.plain  # control: a source without evidence is not listed
    assert render_evidence([Source("r2", "n/1.md", "", 0.5)]).plain == ""


def test_a_header_shows_the_day_and_the_file_name_only() -> None:
    from assistant.pipeline.passages import record_header

    meta = {"date": "2025-06-19T08:30:00+00:00", "path": "/home/ana/cal/personal.ics", "title": "Dentist"}
    assert record_header(meta) == "2025-06-19 | personal.ics"
    assert record_header({"date": "2025-06-19", "path": "mail/2025-06-19-x.eml"}) == "2025-06-19-x.eml"
