"""`assistant note` end to end in a subprocess: output modes, bad input, and no network at all."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.notes.offline import NetworkBlocked, network_blocked
from assistant.notes.render import json_problems, structure_problems

ROOT = Path(__file__).resolve().parents[1]
VISIT = (
    "[doctor] hi , what brings you in today ?\n"
    "[patient] my right knee hurts since i fell two weeks ago .\n"
    "[doctor] i see mild swelling . take ibuprofen 400 milligrams twice a day .\n"
)
FAST = ["--max-items", "1", "--max-chars", "32"]


class Recorder(ThreadingHTTPServer):
    """A stand-in remote on 127.0.0.1 that counts every connection and request it receives."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    def verify_request(self, request: object, client_address: object) -> bool:
        self.connections += 1
        return True


class _Handler(BaseHTTPRequestHandler):
    def _record(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        body = b'{"choices": [{"message": {"content": "{}"}}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _record

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_note(args: list[str], env_extra: dict[str, str] | None = None, stdin: bytes | None = None):
    # one llama.cpp thread: on a shared, busy CPU two threads stall each other
    env = {**os.environ, "ASSISTANT_THREADS": "1", "ASSISTANT_N_CTX": "2048", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "assistant", "note", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_note_sends_nothing_even_with_a_remote_configured(tmp_path: Path, recorder: Recorder) -> None:
    url = f"http://127.0.0.1:{recorder.server_address[1]}/v1"
    with urllib.request.urlopen(f"{url}/models", timeout=5) as reply:  # the recorder does record
        assert reply.status == 200
    assert recorder.requests == ["GET /v1/models"]
    recorder.requests.clear()
    recorder.connections = 0

    visit = tmp_path / "visit.txt"
    visit.write_text(VISIT, encoding="utf-8")
    env = {
        "ASSISTANT_REMOTE_URL": url,
        "ASSISTANT_REMOTE_API_KEY": "sk-test",
        "ASSISTANT_STORE_URL": url,
        "HTTP_PROXY": url,
        "HTTPS_PROXY": url,
    }
    done = run_note([str(visit), *FAST], env)
    assert done.returncode == 0, done.stderr.decode()
    assert structure_problems(done.stdout.decode()) == []
    assert recorder.connections == 0
    assert recorder.requests == []


def test_network_guard_blocks_connections_and_restores_them(recorder: Recorder) -> None:
    port = recorder.server_address[1]
    with network_blocked():
        with pytest.raises(NetworkBlocked):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5)
        with pytest.raises(NetworkBlocked), socket.socket() as sock:
            sock.connect(("127.0.0.1", port))
    assert recorder.connections == 0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/after", timeout=5) as reply:
        assert reply.status == 200
    assert recorder.requests == ["GET /after"]


@pytest.mark.slow
def test_stdin_json(tmp_path: Path) -> None:
    done = run_note(["-", "--json", *FAST], stdin=VISIT.encode())
    assert done.returncode == 0, done.stderr.decode()
    obj = json.loads(done.stdout)
    assert json_problems(obj) == []
    assert list(obj["sections"])[0] == "chief_complaint"
    assert obj["stats"]["chunks"] == 0 and obj["stats"]["trimmed"] == 0  # demo model: written from facts
    assert len(obj["written_from_facts"]) == 7
    for key, statements in obj["sections"].items():
        assert len(obj["evidence"][key]) == len(statements)
    plan = obj["sections"]["assessment_and_plan"]
    assert obj["evidence"]["assessment_and_plan"][plan.index("Start Ibuprofen 400 mg twice daily.")] == [3]
    assert isinstance(obj["flags"], list)


@pytest.mark.slow
def test_evidence_footnotes(tmp_path: Path) -> None:
    done = run_note(["-", "--evidence"], stdin=VISIT.encode())
    assert done.returncode == 0, done.stderr.decode()
    markdown = done.stdout.decode()
    assert structure_problems(markdown) == []
    assert "Start Ibuprofen 400 mg twice daily.[^" in markdown
    assert "turn 3. «Doctor: i see mild swelling . take ibuprofen 400 milligrams twice a day .»" in markdown
    assert "[^" not in run_note(["-"], stdin=VISIT.encode()).stdout.decode()  # only when asked


@pytest.mark.slow
def test_soap_to_output_file(tmp_path: Path) -> None:
    visit = tmp_path / "visit.txt"
    visit.write_text(VISIT.replace("[doctor] ", "Doctor: ").replace("[patient] ", "Patient: "), "utf-8")
    out = tmp_path / "note.md"
    done = run_note([str(visit), "--format", "soap", "-o", str(out), *FAST])
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""
    assert structure_problems(out.read_text(encoding="utf-8"), "soap") == []
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert b"note written to" in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", b"The transcript is empty."), (b"\x7fELF\x02\x01\x01\x00\x00\x00", b"binary file")],
)
def test_empty_or_binary_file_is_a_clear_error(tmp_path: Path, content: bytes, message: bytes) -> None:
    bad = tmp_path / "visit.txt"
    bad.write_bytes(content)
    done = run_note([str(bad)])
    assert done.returncode == 1
    assert message in done.stderr
    assert b"next step:" in done.stderr
    assert b"Traceback" not in done.stderr
    assert done.stdout == b""
