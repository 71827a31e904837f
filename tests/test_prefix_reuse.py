"""The fixed part of the answer prompt is evaluated once across turns (real llama.cpp, bundled model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from assistant.pipeline.answer import COMPACT_SYSTEM, compact_messages
from models.base import GREEDY, Message, SamplingParams, StreamStats

PARAMS = SamplingParams(**{**GREEDY.__dict__, "max_tokens": 4})


@dataclass
class Rec:
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


RECORDS = [
    Rec("The boiler service is booked for 12 March at 8:00. Bring the warranty card.", {"path": "a.txt"}),
    Rec("Library books are due back on 3 April. The fine is 20 cents a day.", {"path": "b.txt"}),
]


def turn(model: Any, messages: list[Message]) -> StreamStats:
    stats = StreamStats()
    for _ in model.stream(messages, PARAMS, stats=stats):
        pass
    return stats


@pytest.mark.slow
def test_fixed_prefix_is_evaluated_once_across_turns(small_model) -> None:
    prefix = small_model.prompt_tokens([Message("system", COMPACT_SYSTEM)]) - 4  # less the reply header
    assert prefix > 20
    turn(small_model, [Message("system", "Unrelated."), Message("user", "Say hi.")])  # another prompt first
    first, _ = compact_messages("When is the boiler service?", "", RECORDS)
    one = turn(small_model, first)
    history = [("When is the boiler service?", "12 March at 8:00 [1].")]
    second, _ = compact_messages("When are the library books due?", "", RECORDS, history)
    two = turn(small_model, second)
    # turn 1 paid for the system prompt; turn 2 evaluated only what follows it
    assert one.extra["evaluated_prompt_tokens"] >= one.prompt_tokens - 6
    assert two.extra["evaluated_prompt_tokens"] <= two.prompt_tokens - prefix
    # control: a different fixed part (the planner's) is evaluated in full again
    other = [Message("system", COMPACT_SYSTEM.replace("Answer", "Reply")), *second[1:]]
    three = turn(small_model, other)
    assert three.extra["evaluated_prompt_tokens"] >= three.prompt_tokens - 6


@pytest.mark.slow
def test_a_turn_evaluates_only_the_newest_earlier_turn(small_model) -> None:
    turns = [
        ("When is the boiler service?", "12 March at 8:00 [1]."),
        ("When are the library books due?", "3 April [2]."),
    ]
    question = "What is the library fine?"
    turn(small_model, compact_messages(turns[0][0], "", RECORDS)[0])
    turn(small_model, compact_messages(turns[1][0], "", RECORDS, turns[:1])[0])
    third, _ = compact_messages(question, "", RECORDS, turns)
    three = turn(small_model, third)
    shared = (
        small_model.prompt_tokens(third[:3]) - 4
    )  # system prompt and the first turn, less the reply header
    assert three.extra["evaluated_prompt_tokens"] <= three.prompt_tokens - shared
    # control: a window that slides past the first turn shares only the system prompt
    turn(small_model, compact_messages(turns[1][0], "", RECORDS, turns[:1])[0])
    sliding = [*third[:1], *third[3:]]
    slid = turn(small_model, sliding)
    prefix = small_model.prompt_tokens(third[:1]) - 4
    assert slid.extra["evaluated_prompt_tokens"] >= slid.prompt_tokens - prefix - 6


@pytest.mark.slow
def test_a_primed_system_prompt_is_not_evaluated_by_the_first_answer(small_model) -> None:
    prefix = small_model.prompt_tokens([Message("system", COMPACT_SYSTEM)]) - 4
    messages, _ = compact_messages("When is the boiler service?", "", RECORDS)
    turn(small_model, [Message("system", "Unrelated."), Message("user", "Say hi.")])
    small_model.prime([Message("system", COMPACT_SYSTEM)])
    primed = turn(small_model, messages)
    assert primed.extra["evaluated_prompt_tokens"] <= primed.prompt_tokens - prefix
    # control: without priming, the same first answer evaluates the system prompt too
    turn(small_model, [Message("system", "Unrelated."), Message("user", "Say hi.")])
    cold = turn(small_model, messages)
    assert cold.extra["evaluated_prompt_tokens"] >= cold.prompt_tokens - 6
