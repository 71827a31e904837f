"""The outbound guard: vault values, declared terms and 8-word record runs never leave."""

from __future__ import annotations

import json

import pytest

from assistant.pipeline.guard import OutboundGuard, OutboundRefused

RECORD = "Your TSH on March 9, 2022 was 6.8 mIU/L. After reviewing it, Dr. Desai sets your dose at 50 mcg."


def body(text: str) -> str:
    return json.dumps({"messages": [{"role": "user", "content": text}]})


def test_clean_body_passes() -> None:
    g = OutboundGuard()
    g.add_values(["Anita Desai", "512-44-8731"])
    g.add_records([RECORD])
    g.check(body("What dose did Dr. <PERSON_1> set after the <DATE_1> labs?"))


@pytest.mark.parametrize(
    "text",
    [
        "Ask anita   DESAI about it",  # case and spacing do not hide a value
        "ssn 512 44 8731",  # nor other separators in an identifier
        "ssn 512448731",
        "quote: DR. DESAI sets your dose, at 50 mcg daily!",  # a record run, punctuation aside
    ],
)
def test_values_are_refused_in_any_form(text: str) -> None:
    g = OutboundGuard()
    g.add_values(["Anita Desai", "512-44-8731"])
    g.add_records(["After reviewing it, Dr. Desai sets your dose at 50 mcg daily"])
    with pytest.raises(OutboundRefused):
        g.check(body(text))


def test_eight_word_run_of_a_record_is_refused_but_seven_pass() -> None:
    g = OutboundGuard()
    g.add_records([RECORD])
    words = str.split("After reviewing it, Dr. Desai sets your dose")
    g.check(body(" ".join(words[:7]) + " please"))
    with pytest.raises(OutboundRefused, match="8 words in a row"):
        g.check(body(" ".join(words[:8])))


def test_json_escapes_do_not_hide_a_value() -> None:
    g = OutboundGuard()
    g.add_values(["Zoë Brandt"])
    sent = json.dumps({"content": "about Zoë Brandt"}, ensure_ascii=True)
    assert "Zoë" not in sent
    with pytest.raises(OutboundRefused):
        g.check(sent)


def test_short_values_are_ignored_to_avoid_false_refusals() -> None:
    g = OutboundGuard()
    g.add_values(["Al", " "])
    g.check(body("Also all"))
    assert g.values == set()
