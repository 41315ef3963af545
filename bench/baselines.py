"""``python -m bench.baselines --scale S``: what this machine can do without Rapport.

- COPY rows/s into a throwaway copy of ``crm_contact`` (same columns and indexes);
- pgbench-style transactions/s: single-row UPDATE + INSERT, committed, from 16 threads, on
  random rows and on one hot row (what the loyalty ledger is compared with);
- a bare Django JSON view behind the same gunicorn command, under the same load client;
- a raw ``smtplib`` loop to a local aiosmtpd sink (messages/s).

Writes ``var/bench/baselines-<scale>.json`` for ``bench.measure``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import smtplib
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from typing import Any

from bench.common import (
    PYTHON,
    ROOT,
    WORK_DIR,
    Scale,
    child_env,
    connect,
    free_port,
    scale_named,
)
from bench.server import Gunicorn, load

LEDGER_CLIENTS = 16
LATENCY_CLIENTS = 4


def copy_rate(scale: Scale) -> dict[str, Any]:
    """Rows/s of a raw COPY of contact rows into an equivalent, empty, indexed table."""
    with connect(autocommit=True) as conn:
        buffer = io.BytesIO()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY (SELECT * FROM crm_contact ORDER BY id LIMIT %s) TO STDOUT",
                [max(scale.import_rows, 1)],
            ) as copy,
        ):
            for block in copy:
                buffer.write(block)
        data = buffer.getvalue()
        rows = data.count(b"\n")
        best = None
        for _attempt in range(3):
            conn.execute("DROP TABLE IF EXISTS bench_copy_baseline")
            conn.execute(
                "CREATE TABLE bench_copy_baseline (LIKE crm_contact INCLUDING ALL)"
            )
            started = time.perf_counter()
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy("COPY bench_copy_baseline FROM STDIN") as copy,
            ):
                copy.write(data)
            elapsed = time.perf_counter() - started
            best = elapsed if best is None else min(best, elapsed)
        conn.execute("DROP TABLE IF EXISTS bench_copy_baseline")
    assert best is not None
    return {
        "rows": rows,
        "seconds": round(best, 4),
        "rows_per_s": round(rows / best, 1),
    }


def tpcb(*, hot: bool, seconds: float, accounts: int = 10_000) -> dict[str, Any]:
    """pgbench's simple-update shape: UPDATE one row, INSERT a history row, COMMIT."""
    with connect(autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_tpcb_history, bench_tpcb_accounts")
        conn.execute(
            "CREATE TABLE bench_tpcb_accounts (id int PRIMARY KEY, balance bigint NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE bench_tpcb_history (id bigserial PRIMARY KEY, account_id int NOT NULL, "
            "delta int NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO bench_tpcb_accounts SELECT g, 0 FROM generate_series(1, %s) g",
            [accounts],
        )
    done = [0] * LEDGER_CLIENTS
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        rng = random.Random(index)
        with connect() as conn:
            while time.monotonic() < deadline:
                account = 1 if hot else rng.randrange(1, accounts + 1)
                delta = rng.randrange(-100, 100)
                with conn.transaction():
                    conn.execute(
                        "UPDATE bench_tpcb_accounts SET balance = balance + %s WHERE id = %s",
                        [delta, account],
                    )
                    conn.execute(
                        "INSERT INTO bench_tpcb_history (account_id, delta) VALUES (%s, %s)",
                        [account, delta],
                    )
                done[index] += 1

    started = time.monotonic()
    threads = [
        threading.Thread(target=client, args=(i,)) for i in range(LEDGER_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    with connect(autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_tpcb_history, bench_tpcb_accounts")
    return {
        "clients": LEDGER_CLIENTS,
        "transactions": sum(done),
        "tps": round(sum(done) / elapsed, 1),
    }


def bare_view(seconds: float) -> dict[str, Any]:
    """Requests/s and latency of a bare Django JSON view, same gunicorn, same client."""
    with Gunicorn("bench.bare_wsgi:application", probe="/ping/") as server:
        result = load(
            {
                "port": server.port,
                "concurrency": LATENCY_CLIENTS,
                "duration": seconds,
                "warmup_each": 5,
                "pool": [{"method": "GET", "path": "/ping/"}],
            }
        )
        result["peak_rss_mb"] = server.peak_rss_mb()
    return result


class SmtpSink:
    """``bench.smtp_sink`` in its own process; ``stop()`` returns how many it accepted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "bench.smtp_sink", str(self.port)],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("bench: the SMTP sink did not start")

    def stop(self) -> int:
        self.process.terminate()
        out, _err = self.process.communicate(timeout=30)
        return int(out.strip().splitlines()[-1])


def smtp_rate(messages: int) -> dict[str, Any]:
    """Messages/s of plain smtplib over one connection to the local sink."""
    sink = SmtpSink()
    try:
        message = EmailMessage()
        message["From"] = "bench@example.com"
        message["Subject"] = "Happy birthday"
        message.set_content("Many happy returns!\n" * 20)
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            for index in range(messages):
                del message["To"]
                message["To"] = f"c{index}@example.com"
                smtp.send_message(message)
        elapsed = time.perf_counter() - started
    finally:
        accepted = sink.stop()
    return {
        "messages": messages,
        "accepted": accepted,
        "messages_per_s": round(messages / elapsed, 1),
    }


def baselines(scale: Scale) -> dict[str, Any]:
    seconds = scale.load_seconds
    steps = {
        "copy": lambda: copy_rate(scale),
        "tpcb_random": lambda: tpcb(hot=False, seconds=seconds),
        "tpcb_hot": lambda: tpcb(hot=True, seconds=seconds),
        "bare_view": lambda: bare_view(seconds),
        "smtp": lambda: smtp_rate(500 if scale.name == "small" else 2000),
    }
    results: dict[str, Any] = {}
    for name, step in steps.items():
        print(f"bench: baseline {name}…", file=sys.stderr)
        results[name] = step()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="small")
    args = parser.parse_args(argv)
    scale = scale_named(args.scale)
    results = baselines(scale)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    (WORK_DIR / f"baselines-{scale.name}.json").write_text(
        json.dumps(results, indent=2)
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
