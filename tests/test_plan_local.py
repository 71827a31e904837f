"""The local planner: what a weak model copies from the planner prompt is not searched for."""

from __future__ import annotations

import pytest

from assistant.pipeline.plan import PLANNER_SYSTEM, _words, drop_template_echoes, local_plan

QUESTION = "When is my next dentist appointment, and with whom?"


def test_template_copies_are_dropped_and_real_queries_kept() -> None:
    guidance, queries = drop_template_echoes(
        "step-by-step advice for a small model that will read the records",
        ["1 to 5 short search queries that would find the relevant records", "dentist appointment"],
        QUESTION,
    )
    assert guidance == "" and queries == ("dentist appointment",)


def test_nothing_left_searches_for_the_question_itself() -> None:
    guidance, queries = drop_template_echoes(QUESTION, ["Short search queries", "  "], QUESTION)
    assert guidance == "" and queries == (QUESTION,)


def test_a_real_plan_passes_unchanged() -> None:
    plan = ("Look for calendar entries with a dentist.", ("dentist appointment", "dental clinic"))
    assert drop_template_echoes(*plan, QUESTION) == plan


@pytest.mark.slow
def test_bundled_model_plan_holds_no_template_text(small_model) -> None:
    guidance, queries = local_plan(small_model, QUESTION)
    template = _words(PLANNER_SYSTEM)
    assert 1 <= len(queries) <= 5
    assert all(_words(q) and _words(q) not in template for q in queries)
    assert not guidance or _words(guidance) not in template
