"""On-device sentence scoring: the compact answer context and the evidence sentences under an answer.

Both pick whole sentences of retrieved records by lexical overlap with a query (stemmed words), each
term weighted by how rare it is among the candidate sentences and, for the context, in the whole
on-device lexical index (words most records share, such as a letterhead or the user's own name, weigh
little). Nothing here leaves the device; no model is needed."""

from __future__ import annotations

import importlib.util
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from encrypted_store.lexical import stem_words

WORD = re.compile(r"[^\W_]+(?:[.,:/'-][^\W_]+)*")
# After . ! ? (not after a single capital, "Dr.", "Mr." ...), before an opening capital, digit or quote.
SENTENCE_END = re.compile(
    r"(?<!\s[A-Z])(?<!^[A-Z])(?<!\b(?:Dr|Mr|Ms|St|vs))(?<!\bMrs)([.!?])\s+(?=[\"'(\[A-Z0-9])"
)
_STOP_WORDS = (
    "a an and are as at be but by did do does for from had has have how i in is it its me my of on or "
    "our so than that the their them then there this to was were what when where which who why will "
    "with you your yours about after before into over"
)
STOP = frozenset(_STOP_WORDS.split())
NEIGHBOURS = 1  # sentences either side of a record's best one get a share of its score
NEIGHBOUR_SHARE = 0.5


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate (about 4 characters per token), for budgets without a model."""
    return len(text) // 4 + 1


def split_sentences(text: str) -> list[str]:
    """Whole sentences (and header lines such as 'Subject: ...'), whitespace collapsed, in order."""
    out: list[str] = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            out += [s.strip() for s in SENTENCE_END.sub(r"\1\n", line).split("\n") if s.strip()]
    return out


@lru_cache(maxsize=1)
def can_stem() -> bool:
    """PyStemmer (the `lexical` extra) is installed: hybrid search needs it, sentence scoring only
    gains from it."""
    return importlib.util.find_spec("Stemmer") is not None


def terms(text: str) -> set[str]:
    """Content words, lower-cased and stemmed ("accepted" meets "accept"); numbers and dates kept
    whole ("6.8", "2022-03-14")."""
    words = [w for w in (m.group(0).lower() for m in WORD.finditer(text)) if w not in STOP]
    if not can_stem():
        return set(words)
    return {w if any(c.isdigit() for c in w) else s for w, s in zip(words, stem_words(words), strict=True)}


def idf(units: Sequence[set[str]]) -> dict[str, float]:
    """log(1 + N / df) over the candidate units (sentences)."""
    df = Counter(t for u in units for t in u)
    n = max(len(units), 1)
    return {t: math.log(1.0 + n / c) for t, c in df.items()}


def overlap(query: set[str], unit: set[str], weights: dict[str, float]) -> float:
    """Summed weight of the query terms the unit holds, mildly normalised by the unit's length."""
    hit = sum(weights.get(t, 0.0) for t in query & unit)
    return hit / math.sqrt(1.0 + len(unit) / 12.0) if hit else 0.0


@dataclass(frozen=True)
class Passage:
    """The kept sentences of one retrieved record, in the record's order, with where it comes from."""

    number: int  # 1-based, as cited in the answer
    header: str  # title, date and path
    sentences: tuple[str, ...]

    def render(self) -> str:
        return f"[{self.number}] {self.header}: {' '.join(self.sentences)}"


MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-\d{2}")
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
HEADER_WEIGHT = 0.5  # a query term found only in the record's title, date or path counts half


def record_header(meta: dict[str, Any]) -> str:
    """Date and file name. The title is left out: readers put it into the text (a subject line, an
    event's summary), where it competes like any sentence; directories are left out too (the sources
    list shows the whole path). The date is not repeated when the name already shows it."""
    date, path = str(meta.get("date") or "").strip(), str(meta.get("path") or "")
    if ISO_DATETIME.match(date):  # the day is enough here: an event's text states its time
        date = date[:10]
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    parts = [date] if date and date not in name else []
    parts += [name] if name else []
    return " | ".join(parts) or "record"


def header_terms(meta: dict[str, Any]) -> set[str]:
    """Terms of the title, date and path, with an ISO date's year and month name ("in March 2022")."""
    text = " ".join(str(meta.get(k) or "") for k in ("title", "date", "path"))
    out = terms(re.sub(r"[/_.]", " ", text))
    for year, month in ISO_DATE.findall(text):
        out.add(year)
        if 1 <= int(month) <= 12:
            out.add(MONTHS[int(month) - 1])
    return out


RANK_DECAY = 0.3  # the retrieval's order is evidence too: rank r's sentences count 1 / (1 + 0.3 r)


def rank_priors(n: int) -> list[float]:
    return [1.0 / (1.0 + RANK_DECAY * r) for r in range(n)]


Weigh = Callable[[Iterable[str]], dict[str, float]]


def sentence_scores(
    query: str, split: Sequence[Sequence[str]], records: Sequence[Any], weigh: Weigh | None = None
) -> list[list[float]]:
    """Per record (its sentences in `split`), per sentence: query overlap, plus half weight for terms
    only in the record header.

    A term weighs its rarity among the candidate sentences, times its rarity in the whole index when
    `weigh` gives that (`LexicalIndex.idf`): a user's own name or a letterhead is in most records, and
    the retrieved set alone cannot tell, since retrieval chose records that share the query's words.
    """
    units = [[terms(s) for s in sents] for sents in split]
    headers = [header_terms(getattr(r, "meta", {}) or {}) for r in records]
    q = terms(query)
    weights, header_weights = idf([u for us in units for u in us]), idf(headers)
    if weigh is not None:
        corpus = weigh(q)
        weights = {t: w * corpus[t] for t, w in weights.items() if t in corpus}
        header_weights = corpus
    return [
        [prior * (overlap(q, u, weights) + HEADER_WEIGHT * overlap(q, h - u, header_weights)) for u in us]
        for prior, us, h in zip(rank_priors(len(records)), units, headers, strict=True)
    ]


SHORT_RECORD = 48  # tokens: a record this short is kept whole when any of it is chosen


def compact_context(
    query: str,
    records: Sequence[Any],
    *,
    budget: int = 180,
    count_tokens: Callable[[str], int] = approx_tokens,
    weigh: Weigh | None = None,
) -> list[Passage]:
    """The best-matching sentences of each record (and their neighbours) within `budget` tokens.

    `records` need `.text` and `.meta`, best first. Sentences are taken by score (the neighbours of a
    record's best sentence get a share of its score, so a fact keeps its subject), then the first
    sentence of records with no matching term (the dense search found them). A sentence that does
    not fit is skipped, never cut; a record with no sentence inside the budget is left out. A chosen
    record of at most `SHORT_RECORD` tokens is then completed while the budget allows (its "When:"
    line matters as much as its matching title).
    """
    split = [split_sentences(r.text) for r in records]
    scores = sentence_scores(query, split, records, weigh)
    scored = [(sc, r, s) for r, ss in enumerate(scores) for s, sc in enumerate(ss)]
    best_per_record: dict[int, tuple[float, int, int]] = {}
    for score, r, s in sorted(scored, key=lambda x: (-x[0], x[1], x[2])):
        best_per_record.setdefault(r, (score, r, s))

    def priority(x: tuple[float, int, int]) -> float:
        """Own score, plus half the record's best when next to it (a fact keeps its context)."""
        best, _, s_best = best_per_record[x[1]]
        return x[0] + (NEIGHBOUR_SHARE * best if 0 < abs(x[2] - s_best) <= NEIGHBOURS else 0.0)

    matched = sorted((x for x in scored if priority(x) > 0), key=lambda x: (-priority(x), x[1]))
    unmatched = sorted((x for x in best_per_record.values() if x[0] == 0), key=lambda x: x[1])
    order = [(r, s) for _, r, s in matched + unmatched]
    chosen: dict[int, set[int]] = {}
    used = 0
    for r, s in order:
        if s in chosen.get(r, set()):
            continue
        cost = count_tokens(split[r][s]) + 1
        if r not in chosen:
            cost += count_tokens(record_header(records[r].meta)) + 4
        if used + cost > budget:
            continue
        chosen.setdefault(r, set()).add(s)
        used += cost
    for r in sorted(chosen):  # a short record (an event, a note line) is cheap: its other lines too
        rest = [s for s in range(len(split[r])) if s not in chosen[r]]
        cost = sum(count_tokens(split[r][s]) + 1 for s in rest)
        if rest and count_tokens(records[r].text) <= SHORT_RECORD and used + cost <= budget:
            chosen[r].update(rest)
            used += cost
    return [
        Passage(r + 1, record_header(records[r].meta), tuple(split[r][s] for s in sorted(chosen[r])))
        for r in range(len(records))
        if r in chosen
    ]


CITATION = re.compile(r"\[(\d+)\]")


def cited(answer: str, n_sources: int) -> list[int]:
    """1-based source numbers the answer cites, in order; all of them when it cites none."""
    nums = [int(m) for m in CITATION.findall(answer) if 1 <= int(m) <= n_sources]
    return list(dict.fromkeys(nums)) or list(range(1, n_sources + 1))


def evidence(
    question: str, answer: str, texts: Sequence[str], *, per_record: int = 2, min_share: float = 0.5
) -> list[tuple[str, ...]]:
    """For each record text, the sentences that best support `answer` to `question` (may be empty).

    Answer terms weigh double (they state the claim); a sentence is kept when it scores at least
    `min_share` of the best sentence across all records, at most `per_record` per record.
    """
    split = [split_sentences(t) for t in texts]
    units = [[terms(s) for s in sents] for sents in split]
    weights = idf([u for us in units for u in us])
    a_terms, q_terms = terms(CITATION.sub(" ", answer)), terms(question)
    scores = [[overlap(a_terms, u, weights) * 2 + overlap(q_terms, u, weights) for u in us] for us in units]
    top = max((s for ss in scores for s in ss), default=0.0)
    out: list[tuple[str, ...]] = []
    for sents, ss in zip(split, scores, strict=True):
        ranked = sorted(range(len(sents)), key=lambda i: -ss[i])[:per_record]
        keep = sorted(i for i in ranked if top > 0 and ss[i] >= min_share * top)
        out.append(tuple(sents[i] for i in keep))
    return out
