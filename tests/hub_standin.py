"""A real HTTP server on 127.0.0.1 standing in for the Hugging Face Hub and its CDN (tests only).

It answers the way huggingface_hub 2.4 expects (see `file_download.get_hf_file_metadata`):
`HEAD /{repo}/resolve/{rev}/{file}` returns 302 with `X-Repo-Commit`, `X-Linked-Etag` (the LFS sha256)
and `X-Linked-Size`, pointing at a second server on another port (the "CDN"), so the client stops at
the redirect and takes the metadata from it; the CDN serves the bytes with `Range` support.
Faults: `faults` is a script consumed one entry per CDN GET (("drop", n): send n body bytes, then
close the socket; ("status", code): answer that status; ("stall", n): send n body bytes, then hang
until the stand-in closes); `corrupt` flips bytes of the right length.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
RANGE = re.compile(r"^bytes=(?P<start>\d+)-(?P<end>\d*)$")


@dataclass
class Seen:
    """One request as the stand-in received it."""

    server: str  # "hub" | "cdn"
    method: str
    path: str
    range: str | None


@dataclass
class HubStandIn:
    """Serves `files` ({(repo_id, filename): bytes}) like the hub; flip the fault switches per test."""

    files: dict[tuple[str, str], bytes]
    faults: list[tuple[str, int]] = field(default_factory=list)
    corrupt: bool = False  # CDN serves different bytes of the right length
    advertised_sha256: dict[tuple[str, str], str] = field(default_factory=dict)  # override X-Linked-Etag
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_sha = {hashlib.sha256(data).hexdigest(): data for data in self.files.values()}
        self._closing = threading.Event()
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("hub"))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("cdn"))
        for server in (self._hub, self._cdn):
            server.daemon_threads = True  # a stalled transfer must not hold up shutdown
            server.block_on_close = False
        self._threads = [
            threading.Thread(target=s.serve_forever, daemon=True) for s in (self._hub, self._cdn)
        ]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def sha256(self, repo_id: str, filename: str) -> str:
        key = (repo_id, filename)
        return self.advertised_sha256.get(key) or hashlib.sha256(self.files[key]).hexdigest()

    def __enter__(self) -> HubStandIn:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()

    def _handler(self, role: str) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                standin.seen.append(Seen(role, self.command, self.path, self.headers.get("Range")))
                if role == "hub":
                    standin._resolve(self)
                else:
                    standin._serve_blob(self, body)

        return Handler

    def _resolve(self, req: BaseHTTPRequestHandler) -> None:
        match = RESOLVE.match(req.path)
        key = (unquote(match["repo"]), unquote(match["file"])) if match else None
        if key is None or not any(repo == key[0] for repo, _ in self.files):
            _empty(req, 404, {"X-Error-Code": "RepoNotFound"})
            return
        if key not in self.files:
            _empty(req, 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT})
            return
        sha = self.sha256(*key)
        real_sha = hashlib.sha256(self.files[key]).hexdigest()
        headers = {
            "X-Repo-Commit": COMMIT,
            "X-Linked-Etag": f'"{sha}"',
            "X-Linked-Size": str(len(self.files[key])),
            "ETag": '"gitsha1-of-pointer-file"',
            "Location": f"{self.cdn}/blobs/{real_sha}",
        }
        _empty(req, 302, headers)

    def _serve_blob(self, req: BaseHTTPRequestHandler, body: bool) -> None:
        data = self._by_sha.get(req.path.rsplit("/", 1)[-1])
        if data is None:
            _empty(req, 404, {})
            return
        fault = self.faults.pop(0) if body and self.faults else None
        if fault is not None and fault[0] == "status":
            _empty(req, fault[1], {})
            return
        if self.corrupt:
            data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
        start, status = 0, 200
        wanted = RANGE.match(req.headers.get("Range") or "")
        if wanted:
            start, status = int(wanted["start"]), 206
            if start >= len(data):
                _empty(req, 416, {"Content-Range": f"bytes */{len(data)}"})
                return
        payload = data[start:]
        req.send_response(status)
        req.send_header("Content-Length", str(len(payload)))
        req.send_header("Accept-Ranges", "bytes")
        if status == 206:
            req.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        req.end_headers()
        if not body:
            return
        if fault is not None and fault[0] == "stall":
            req.wfile.write(payload[: fault[1]])
            req.wfile.flush()
            self._closing.wait(timeout=60)
            req.close_connection = True
            return
        if fault is not None and fault[0] == "drop":
            req.wfile.write(payload[: fault[1]])
            req.wfile.flush()
            req.close_connection = True
            return
        req.wfile.write(payload)


def _empty(req: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    req.send_response(status)
    for name, value in headers.items():
        req.send_header(name, value)
    req.send_header("Content-Length", "0")
    req.end_headers()
