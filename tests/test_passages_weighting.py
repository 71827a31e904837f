"""What the compact context prefers: rare words of the whole index, word stems, the retrieval's order;
and earlier turns in an anchored window. Records and the index are generated here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.pipeline.answer import earlier_turns
from assistant.pipeline.passages import compact_context
from encrypted_store import lexical

LETTERHEAD = "Patient: Nadia Okoro, born 1971, MRN 5512, Riverside Clinic, 14 Harbour Road."
FACT = "Dr. Vale sets your iron tablet dose at 65 mg daily."
BODIES = [
    "Your ferritin on {m} 3 was {n} ng/mL.",
    "The clinic will be closed on {m} 12 for staff training.",
    "Please bring your insurance card to the visit on {m} 20.",
    "Your blood pressure on {m} 9 was {n}/80.",
]
MONTHS = ["January", "March", "May", "July", "September", "November"]


@dataclass
class Rec:
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


def letters() -> list[Rec]:
    out = [Rec(f"{LETTERHEAD}\n{FACT}", {"path": "/home/n/letters/vale.txt"})]
    for i, month in enumerate(MONTHS):
        body = BODIES[i % len(BODIES)].format(m=month, n=40 + 7 * i)
        out.append(Rec(f"{LETTERHEAD}\n{body}", {"path": f"/home/n/letters/{i}.txt"}))
    return out


def index_of(records: list[Rec]) -> lexical.LexicalIndex:
    return lexical.LexicalIndex(
        {f"d{i}": lexical.doc_value([(f"r{i}", r.text)]) for i, r in enumerate(records)}
    )


def kept(question: str, records: list[Rec], budget: int, **kw: Any) -> str:
    return "\n".join(p.render() for p in compact_context(question, records, budget=budget, **kw))


def test_words_common_in_the_whole_index_weigh_little() -> None:
    records = letters()
    question = "I am Nadia Okoro, born 1971, of Riverside Clinic. What dose did Dr. Vale set?"
    retrieved = records[1:4] + records[:1]  # the letter with the fact is ranked fourth of four
    with_index = kept(question, retrieved, 40, weigh=index_of(records).idf)
    assert FACT in with_index
    # control: within the retrieved set alone the letterhead's many matching words win the budget
    assert FACT not in kept(question, retrieved, 40)


def test_idf_of_the_lexical_index() -> None:
    index = index_of(letters())
    idf = index.idf(lexical.tokenize("okoro vale ferritin") + ["never-seen"])
    assert idf["okoro"] < idf["ferritin"] < idf["vale"] < idf["never-seen"]


def test_word_forms_meet_through_their_stem() -> None:
    records = [
        Rec(
            "Ana: The weekend went by so quickly. Ana: I accepted an offer as a luthier at a violin "
            "workshop. Ana: My neighbour keeps playing loud music. Ana: Talk soon, take care!"
        )
    ]
    text = kept("What job did Ana accept?", records, 30)
    assert "luthier" in text
    assert "loud music" not in text  # control: only the matching sentence fits


def test_without_pystemmer_words_are_matched_as_they_are(monkeypatch) -> None:
    from assistant.pipeline import passages

    assert {"accept", "offer"} <= passages.terms("I accepted the offers")  # stemmed where installed
    monkeypatch.setattr(passages, "can_stem", lambda: False)  # an install without the lexical extra
    assert passages.terms("I accepted the offers") == {"accepted", "offers"}
    assert "luthier" in kept(
        "Which job did Ana accept as a luthier?", [Rec("Ana: I took a job as a luthier.")], 30
    )


def test_the_retrieval_order_breaks_ties() -> None:
    a = Rec("The spare key is under the blue flower pot.", {"path": "a.txt"})
    b = Rec("The spare key is with the neighbour at number 9.", {"path": "b.txt"})
    assert "flower pot" in kept("Where is the spare key?", [a, b], 24)
    assert "number 9" in kept("Where is the spare key?", [b, a], 24)  # control: the order decides


def test_earlier_turns_stay_anchored_so_consecutive_prompts_share_them() -> None:
    history = [(f"q{i}", f"a{i}") for i in range(10)]
    shown = [list(earlier_turns(history[:n])) for n in range(11)]
    assert shown[0] == [] and shown[1] == history[:1]
    assert max(len(s) for s in shown) == 3
    for n in range(1, 10):
        before, after = shown[n], shown[n + 1]
        # the next prompt keeps every turn shown now, or restarts at the latest turn
        assert after[: len(before)] == before or after == [history[n]]
        assert after[-1] == history[n]
