"""The remote planner against a real HTTP server on 127.0.0.1: every fallback case, and a hostile plan."""

from __future__ import annotations

import json
import os

import pytest

from assistant.config import Settings
from assistant.pipeline.guard import OutboundGuard, OutboundRefused
from assistant.pipeline.ledger import Ledger
from assistant.pipeline.plan import PlanError, parse_plan
from assistant.pipeline.remote import RemotePlanner
from encrypted_store.keys import Keyring
from tests.remote_standin import RemoteStandin, Reply, completion, plan_reply


@pytest.fixture
def remote():
    with RemoteStandin() as server:
        yield server


def keyring() -> Keyring:
    return Keyring(master_key=os.urandom(32), ckks_secret=b"", ckks_params={})


def planner(remote: RemoteStandin, tmp_path, **settings: object) -> RemotePlanner:
    s = Settings(**{"home": tmp_path, "remote_url": remote.url, "remote_timeout_s": 2.0, **settings})
    return RemotePlanner(s, OutboundGuard(), Ledger(tmp_path, keyring()))


def test_good_plan_uses_json_schema_and_is_recorded(remote: RemoteStandin, tmp_path) -> None:
    remote.enqueue(plan_reply("Look at thyroid letters.", ["levothyroxine dose <PERSON_1>"]))
    p = planner(remote, tmp_path, remote_api_key="sk-test")
    guidance, queries = p.plan("What dose did Dr. <PERSON_1> set?")
    assert guidance == "Look at thyroid letters." and queries == ("levothyroxine dose <PERSON_1>",)
    (req,) = remote.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["Authorization"] == "Bearer sk-test"
    body = req.json()
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["properties"]["sub_queries"]["maxItems"] == 5
    assert req.user_text() == "What dose did Dr. <PERSON_1> set?"
    assert [o.body for o in p.sent] == [req.body.decode()]
    (entry,) = p.ledger.entries()
    assert entry.status == "sent" and entry.body == req.body.decode() and "levothyroxine" in entry.reply


def test_network_error_retries_once_then_fails(tmp_path) -> None:
    server = RemoteStandin()  # bound, then closed: the port refuses connections
    url = server.url
    server.stop()
    s = Settings(home=tmp_path, remote_url=url, remote_timeout_s=1.0)
    p = RemotePlanner(s, OutboundGuard(), Ledger(tmp_path, keyring()))
    with pytest.raises(PlanError, match="unreachable"):
        p.plan("hello")
    assert [e.status for e in p.ledger.entries()] == ["failed", "failed"]


def test_http_500_retries_once_and_can_recover(remote: RemoteStandin, tmp_path) -> None:
    remote.enqueue(Reply(status=500, body=b"oops"), plan_reply("ok", ["q"]))
    assert planner(remote, tmp_path).plan("hi") == ("ok", ("q",))
    assert len(remote.requests) == 2


def test_http_error_twice_falls_back(remote: RemoteStandin, tmp_path) -> None:
    remote.enqueue(Reply(status=503, body=b"busy"), Reply(status=503, body=b"busy"))
    with pytest.raises(PlanError, match="HTTP 503"):
        planner(remote, tmp_path).plan("hi")
    assert len(remote.requests) == 2


def test_http_401_is_not_retried(remote: RemoteStandin, tmp_path) -> None:
    remote.enqueue(Reply(status=401, body=b'{"error": "bad key"}'))
    with pytest.raises(PlanError, match="HTTP 401"):
        planner(remote, tmp_path).plan("hi")
    assert len(remote.requests) == 1


def test_schema_rejected_retries_without_response_format(remote: RemoteStandin, tmp_path) -> None:
    remote.enqueue(Reply(status=400, body=b'{"error": "response_format not supported"}'))
    remote.enqueue(Reply('Sure! ```json\n{"guidance": "g", "sub_queries": ["a"]}\n``` Hope it helps'))
    assert planner(remote, tmp_path).plan("hi") == ("g", ("a",))
    assert "response_format" in remote.requests[0].json()
    assert "response_format" not in remote.requests[1].json()


def test_timeout_falls_back(remote: RemoteStandin, tmp_path) -> None:
    remote.enqueue(
        Reply(plan_reply("g", ["a"]).content, delay_s=3), Reply(plan_reply("g", ["a"]).content, delay_s=3)
    )
    p = planner(remote, tmp_path, remote_timeout_s=0.5)
    with pytest.raises(PlanError, match="timed out"):
        p.plan("hi")
    assert [e.note for e in p.ledger.entries()] == ["timeout", "timeout"]


def test_oversized_reply_falls_back(remote: RemoteStandin, tmp_path) -> None:
    remote.enqueue(Reply(body=completion("x" * 400_000)))
    with pytest.raises(PlanError, match="larger than"):
        planner(remote, tmp_path).plan("hi")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("I cannot help with that.", "no JSON object"),
        ('{"guidance": 3, "sub_queries": ["a"]}', "guidance"),
        ('{"guidance": "g"}', "sub_queries"),
        ('{"guidance": "g", "sub_queries": "a"}', "sub_queries"),
        ('{"guidance": "g", "sub_queries": [1, 2]}', "sub_queries"),
        ('{"guidance": "g", "sub_queries": []}', "0 sub-queries"),
        (json.dumps({"guidance": "g", "sub_queries": list("abcdef")}), "6 sub-queries"),
        (json.dumps({"guidance": "g", "sub_queries": ["a" * 300]}), "longer than"),
        ("[1, 2, 3]", "no JSON object"),
        ("x" * 9000, "too large"),
    ],
)
def test_malformed_plans_fall_back(remote: RemoteStandin, tmp_path, content: str, match: str) -> None:
    remote.enqueue(Reply(content))
    with pytest.raises(PlanError, match=match):
        planner(remote, tmp_path).plan("hi")
    assert len(remote.requests) == 1  # a bad reply is not retried


def test_not_a_chat_completion(remote: RemoteStandin, tmp_path) -> None:
    remote.enqueue(Reply(body=b'{"result": "plan"}'))
    with pytest.raises(PlanError, match="not a chat completion"):
        planner(remote, tmp_path).plan("hi")


def test_control_characters_are_stripped() -> None:
    guidance, queries = parse_plan('{"guidance": "a\\u001b[31mred\\u202e", "sub_queries": ["q\\u0000"]}')
    assert guidance == "ared" and queries == ("q",)


def test_guard_refusal_sends_nothing_and_is_recorded(remote: RemoteStandin, tmp_path) -> None:
    p = planner(remote, tmp_path)
    p.guard.add_values(["512-44-8731"])
    with pytest.raises(OutboundRefused):
        p.plan("my ssn is 512 44 8731")
    assert remote.requests == [] and p.sent == []
    (entry,) = p.ledger.entries()
    assert entry.status == "refused" and "512 44 8731" in entry.body
