"""``python -m bench.loadclient``: the load generator, in its own process.

Reads a JSON spec on stdin and prints JSON results on stdout. ``concurrency`` threads each
keep one HTTP/1.1 connection (opened again when the server closes it, as gunicorn's sync
workers do after every answer) and send requests picked at random from ``pool`` until
``duration`` seconds have passed or ``max_requests`` were sent::

    {"port": 8123, "headers": {"Authorization": "Token …"}, "concurrency": 4,
     "duration": 2.0, "max_requests": 0, "warmup": 20, "idempotency_keys": false,
     "pool": [{"method": "GET", "path": "/api/v1/contacts/"},
              {"method": "POST", "path": "/api/v1/…", "body": {…}}]}

Results: requests, errors (status >= 500 or transport errors), statuses, requests/s and
latency percentiles in milliseconds.

The client shares the machine's CPUs with the server it measures, so it spends as little as it
can: each pool item's request is encoded once (only a fresh ``Idempotency-Key`` is added per
request) and the answer is read from the socket by its ``Content-Length`` (or its chunks),
without ``http.client``'s header parsing, about a quarter of the CPU per request.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class TransportError(Exception):
    """The connection broke or the answer was not HTTP."""


class Connection:
    """One HTTP/1.1 connection on loopback, opened on first use and again after a close."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def _recv(self, sock: socket.socket) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise TransportError("connection closed mid-answer")
        self.buffer += chunk

    def _take(self, sock: socket.socket, size: int) -> bytes:
        while len(self.buffer) < size:
            self._recv(sock)
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def _line(self, sock: socket.socket) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            self._recv(sock)
        line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
        return line

    def exchange(self, request: bytes) -> int:
        """Send ``request`` (bytes on the wire), read the whole answer; its status."""
        try:
            if self.sock is None:
                self.sock = socket.create_connection(
                    ("127.0.0.1", self.port), timeout=60
                )
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = self.sock
            sock.sendall(request)
            while (end := self.buffer.find(b"\r\n\r\n")) < 0:
                self._recv(sock)
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                name, _sep, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip().lower()
            if status in (204, 304):
                pass  # no body, whatever the headers say
            elif b"content-length" in headers:
                self._take(sock, int(headers[b"content-length"]))
            elif headers.get(b"transfer-encoding") == b"chunked":
                while size := int(self._line(sock).split(b";")[0], 16):
                    self._take(sock, size + 2)
                while self._line(sock):  # trailers, up to the empty line
                    pass
            else:  # the answer runs to the end of the connection
                with contextlib.suppress(TransportError):
                    while True:
                        self._recv(sock)
                headers[b"connection"] = b"close"
        except (OSError, ValueError, IndexError) as error:
            self.close()
            raise TransportError(str(error)) from error
        except TransportError:
            self.close()
            raise
        if headers.get(b"connection") == b"close":
            self.close()
        return status


def encode(spec: dict[str, Any], item: dict[str, Any]) -> tuple[bytes, bytes]:
    """A pool item's request line and headers (up to where the idempotency key would go,
    ending in CRLF) and its body."""
    body = b"" if item.get("body") is None else json.dumps(item["body"]).encode()
    headers = {
        "Host": f"127.0.0.1:{spec['port']}",
        "Accept": "application/json",
        **spec.get("headers", {}),
    }
    if item.get("body") is not None:
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
    head = f"{item.get('method', 'GET')} {item['path']} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return head.encode(), body


class Client(threading.Thread):
    def __init__(
        self, spec: dict[str, Any], deadline: float, budget: list[int], seed: int
    ) -> None:
        super().__init__(daemon=True)
        self.spec, self.deadline, self.budget = spec, deadline, budget
        self.rng = random.Random(seed)
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors = 0
        self.lock = budget_lock
        self.requests = [encode(spec, item) for item in spec["pool"]]
        self.keys = bool(spec.get("idempotency_keys"))

    def take(self) -> bool:
        with self.lock:
            if self.budget[0] == 0:
                return False
            self.budget[0] -= 1
            return True

    def wire(self) -> bytes:
        """A request picked from the pool, as bytes on the wire."""
        head, body = self.rng.choice(self.requests)
        if self.keys:
            # A fresh key per request, as a client that may retry a write sends it.
            head += b"Idempotency-Key: " + str(uuid.uuid4()).encode() + b"\r\n"
        return head + b"\r\n" + body

    def run(self) -> None:
        conn = Connection(self.spec["port"])
        for _i in range(self.spec.get("warmup_each", 0)):
            with contextlib.suppress(TransportError):
                conn.exchange(self.wire())
        while time.monotonic() < self.deadline and self.take():
            request = self.wire()
            started = time.perf_counter()
            try:
                status = conn.exchange(request)
            except TransportError:
                self.errors += 1
                continue
            self.latencies.append((time.perf_counter() - started) * 1000)
            self.statuses[status] += 1
            if status >= 500:
                self.errors += 1
        conn.close()


budget_lock = threading.Lock()


def run(spec: dict[str, Any]) -> dict[str, Any]:
    concurrency = int(spec.get("concurrency", 1))
    max_requests = int(spec.get("max_requests") or 0)
    budget = [max_requests if max_requests > 0 else -1]
    started = time.monotonic()
    deadline = started + float(spec.get("duration", 2.0)) + 60 * bool(max_requests)
    clients = [Client(spec, deadline, budget, seed=i) for i in range(concurrency)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    elapsed = time.monotonic() - started
    latencies = [v for c in clients for v in c.latencies]
    statuses: Counter[int] = Counter()
    for client in clients:
        statuses.update(client.statuses)
    return {
        "requests": len(latencies),
        "errors": sum(c.errors for c in clients),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1) if elapsed else None,
        "p50_ms": _round(percentile(latencies, 50)),
        "p95_ms": _round(percentile(latencies, 95)),
        "p99_ms": _round(percentile(latencies, 99)),
        "max_ms": _round(max(latencies) if latencies else None),
        "concurrency": concurrency,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def main() -> None:
    print(json.dumps(run(json.load(sys.stdin))))


if __name__ == "__main__":
    main()
