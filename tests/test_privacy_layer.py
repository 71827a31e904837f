"""The privacy layer's parts: one normalisation, identifiers of any country, names in any case, the guard."""

from __future__ import annotations

import json

import pytest

from assistant.pipeline.guard import OutboundGuard, OutboundRefused
from assistant.privacy.identifiers import find_identifiers
from assistant.privacy.names import find_names
from assistant.privacy.normalize import key
from assistant.privacy.phrases import PhraseIndex


def body(text: str, system: str = "Plan with at most 600 tokens, 1 to 5 queries.") -> str:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
    return json.dumps({"max_tokens": 600, "messages": messages})


@pytest.mark.parametrize(
    "spelling",
    [
        "Quillfeather Lodge",
        "quillfeather-lodge",
        "QUILLFEATHER.LODGE",
        "quill\u200bfeather lodge",  # zero-width space inside a word
        "quillf\u0435ather lodge",  # Cyrillic e
        "ｑｕｉｌｌｆｅａｔｈｅｒ ｌｏｄｇｅ",  # full-width
        "quillfeather_lodge",
    ],
)
def test_one_key_for_every_spelling(spelling: str) -> None:
    assert key(spelling) == "quillfeather lodge"
    found = PhraseIndex([("Quillfeather Lodge", "TERM")]).find(f"is {spelling} open?")
    assert len(found) == 1 and found[0][2] == "TERM"
    assert found[0][0] == 3 and found[0][1] == 3 + len(spelling)  # the span is in the original text


def test_words_run_together_still_match() -> None:
    index = PhraseIndex([("Quillfeather Lodge", "TERM"), ("733-19-2046", "SSN")])
    assert index.find("the quillfeatherlodge file")
    assert index.find("number 733192046 please")
    assert not index.find("a lodge for quills")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("my chart number is 07-339-218", "07-339-218"),  # dashed record number
        ("the car is 2T1BURHE0JC043821", "2T1BURHE0JC043821"),  # a VIN
        ("ring 020 7946 0958 today", "020 7946 0958"),  # UK, national format
        ("ring +44 20 7946 0958 today", "+44 20 7946 0958"),
        ("ssn 612.33.4087 on file", "612.33.4087"),  # dotted SSN
        ("pay DE89 3704 0044 0532 0130 00 now", "DE89 3704 0044 0532 0130 00"),  # IBAN
        ("plate KA 05 MN 4412 was towed", "05 MN 4412"),
        ("postcode ec1a 1bb", "ec1a 1bb"),
        ("passport no X4471920K", "X4471920K"),
        ("steuer-id 65 929 970 489", "65 929 970 489"),
    ],
)
def test_identifier_shaped_runs_are_found(text: str, value: str) -> None:
    spans = find_identifiers(text)
    covered = {i for f in spans for i in range(f.start, f.end)}
    start = text.index(value)
    assert set(range(start, start + len(value))) <= covered, (value, spans)


def test_typed_identifiers_get_their_type() -> None:
    kinds = {f.kind for f in find_identifiers("IBAN GB82 WEST 1234 5698 7654 32, card 4111 1111 1111 1111")}
    assert {"IBAN", "CREDIT_CARD"} <= kinds
    assert "PHONE" in {f.kind for f in find_identifiers("call +44 20 7946 0958")}


@pytest.mark.parametrize(
    "text",
    ["take 50 mg twice a day", "for 3 weeks", "it cost $1,200", "my 2nd visit at 3pm in 2023", "6.8 mIU/L"],
)
def test_quantities_years_and_times_are_not_identifiers(text: str) -> None:
    assert find_identifiers(text) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("what did moira okonkwo-baptiste say", "okonkwo-baptiste"),
        ("when is dr. desai back", "desai"),
        ("did my sister ruth call", "ruth"),
        ("my son goes to riverside high school", "riverside high school"),
        ("WHAT DID PROF NAKAGAWA-LUND WRITE", "NAKAGAWA-LUND"),
    ],
)
def test_names_in_any_case(text: str, name: str) -> None:
    spans = find_names(text)
    start = text.index(name)
    assert any(s.start <= start and s.end >= start + len(name) for s in spans), spans


def test_guard_refuses_identifier_shaped_runs_but_not_the_system_prompt() -> None:
    g = OutboundGuard()
    g.check(body("What did <PERSON_1> say about <ID_12> in 2023, for 3 weeks?"))  # numbers elsewhere pass
    for text in ("my mrn is 07 339 218", "vin 2t1burhe0jc043821", "call 0207 946 0958"):
        with pytest.raises(OutboundRefused, match="identifier"):
            g.check(body(text))


def test_guard_refuses_a_vocabulary_value_in_any_spelling() -> None:
    g = OutboundGuard()
    g.check(body("did juniper ashcombe write back?"))  # control: unknown to this guard, it passes
    g.add_vocabulary([("Juniper Ashcombe", "PERSON")])
    spellings = (
        "did juniper ashcombe write back?",
        "did JUNIPER-ASHC\u041eMBE write?",
        "juniper\u200bashcombe",
    )
    for text in spellings:
        with pytest.raises(OutboundRefused, match="records"):
            g.check(body(text))


def test_vault_values_match_whole_words_not_placeholders_or_word_parts() -> None:
    g = OutboundGuard()
    g.add_values(["SSN", "Ann"])  # "SSN" was masked as a rare word earlier in the conversation
    g.check(body("My <NAME_2> is <SSN_1>; planning the annual review"))
    for text in ("my ssn again", "ask ANN"):  # control: the values themselves are still refused
        with pytest.raises(OutboundRefused, match="private value"):
            g.check(body(text))
