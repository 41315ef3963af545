"""``python -m bench.loadclient``: the load generator, in its own process.

Reads a JSON spec on stdin and prints JSON results on stdout. ``concurrency`` threads each
keep one HTTP/1.1 keep-alive connection (``http.client``) and send requests picked at random
from ``pool`` until ``duration`` seconds have passed or ``max_requests`` were sent::

    {"port": 8123, "headers": {"Authorization": "Token …"}, "concurrency": 4,
     "duration": 2.0, "max_requests": 0, "warmup": 20, "idempotency_keys": false,
     "pool": [{"method": "GET", "path": "/api/v1/contacts/"},
              {"method": "POST", "path": "/api/v1/…", "body": {…}}]}

Results: requests, errors (status >= 500 or transport errors), statuses, requests/s and
latency percentiles in milliseconds.
"""

from __future__ import annotations

import http.client
import json
import random
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

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.spec["port"], timeout=60)

    def take(self) -> bool:
        with self.lock:
            if self.budget[0] == 0:
                return False
            self.budget[0] -= 1
            return True

    def request(self, conn: http.client.HTTPConnection, item: dict[str, Any]) -> int:
        headers = {"Accept": "application/json", **self.spec.get("headers", {})}
        if self.spec.get("idempotency_keys"):
            # A fresh key per request, as a client that may retry a write sends it.
            headers["Idempotency-Key"] = str(uuid.uuid4())
        body = None
        if item.get("body") is not None:
            body = json.dumps(item["body"]).encode()
            headers["Content-Type"] = "application/json"
        conn.request(
            item.get("method", "GET"), item["path"], body=body, headers=headers
        )
        response = conn.getresponse()
        response.read()
        return response.status

    def run(self) -> None:
        conn = self.connection()
        pool = self.spec["pool"]
        for _i in range(self.spec.get("warmup_each", 0)):
            try:
                self.request(conn, self.rng.choice(pool))
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = self.connection()
        while time.monotonic() < self.deadline and self.take():
            item = self.rng.choice(pool)
            started = time.perf_counter()
            try:
                status = self.request(conn, item)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn.close()
                conn = self.connection()
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
