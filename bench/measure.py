"""``python -m bench.measure --scale S``: measure Rapport against the baselines, write the results.

Starts gunicorn (``config.wsgi:application``, several workers, production settings) on a free
loopback port and drives it with ``bench.loadclient`` in a separate process, authenticated
with a manager's API token. Worker-side jobs (import, outreach) run in their own processes
through the services, as a Celery worker would. Every figure is also given as a ratio to its
baseline (``bench.baselines``). Writes ``bench/results/<date>-<scale>.json`` and a Markdown
table (printed too). Exits 1 when a correctness check fails — never because of a timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from bench.common import (
    MANAGER_EMAIL,
    PYTHON,
    RESULTS_DIR,
    ROOT,
    WORK_DIR,
    Scale,
    child_env,
    connect,
    manage,
    percentile,
    read_marker,
    scale_named,
)
from bench.generate import table_counts
from bench.server import WORKERS, Gunicorn, load

LATENCY_CLIENTS = 4
LEDGER_CLIENTS = 16
DEEP_PAGE = 10_000
SEARCHES = [
    "김",
    "kim",
    "smith",
    "josé",
    "佐藤",
    "иван",
    "김 민준",
    "example.org",
    "4155",
]
# The targets at the large scale: (metric, field, comparison, limit).
TARGETS = {
    "contact_list_first_page": "p95 ≤ 50 ms",
    "contact_list_deep_page": "p95 ≤ 50 ms",
    "contact_list_walk": "p95 ≤ 50 ms",
    "contact_detail": "p95 ≤ 30 ms",
    "contact_timeline": "p95 ≤ 30 ms",
    "dashboard_30_days": "p95 ≤ 150 ms",
    "dashboard_12_months": "p95 ≤ 150 ms",
    "rollup_rebuild": "≤ 60 s",
    "ledger_random": "≥ 300 ops/s",
    "ledger_hot": "≥ 100 ops/s",
    "csv_import": "≥ 20,000 rows/s, ≥ 0.3 x COPY",
    "outreach_plan": "a day in ≤ 5 s",
    "outreach_send": "≥ 100 msg/s",
}


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def job(name: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``bench.jobs <name>`` in its own process; its JSON answer."""
    done = subprocess.run(
        [PYTHON, "-m", "bench.jobs", name, *args],
        cwd=ROOT,
        env=env or child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        return {"ok": False, "error": f"bench.jobs {name} failed"}
    return dict(json.loads(done.stdout))


def get(port: int, path: str, token: str) -> tuple[int, dict[str, Any], float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Token {token}"})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    return response.status, json.loads(body or b"{}"), elapsed


def walk(port: int, token: str, depth: int) -> dict[str, Any]:
    """Follow ``next`` from the first contact page to page ``depth`` (or the last page)."""
    path: str | None = "/api/v1/contacts/"
    latencies: list[float] = []
    pages, rows, deepest = 0, 0, "/api/v1/contacts/"
    seen: set[int] = set()
    while path and pages < depth:
        status, data, elapsed = get(port, path, token)
        if status != 200:
            return {"ok": False, "error": f"{path} answered {status}"}
        latencies.append(elapsed)
        pages += 1
        ids = [row["id"] for row in data["results"]]
        rows += len(ids)
        seen.update(ids)
        deepest = path
        nxt = data.get("next")
        path = None if not nxt else urlsplit(nxt).path + "?" + urlsplit(nxt).query
    return {
        "pages": pages,
        "rows": rows,
        "distinct": len(seen),
        "deepest_path": deepest,
        "p50_ms": _round(percentile(latencies, 50)),
        "p95_ms": _round(percentile(latencies, 95)),
        "p99_ms": _round(percentile(latencies, 99)),
        "ok": rows == len(seen),  # keyset pages never repeat a row
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def timed(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    out = manage(*args)
    return time.perf_counter() - started, out


class Run:
    """One measurement run: its figures, its correctness checks and the table."""

    def __init__(self, scale: Scale, baselines: dict[str, Any]) -> None:
        self.scale, self.baselines = scale, baselines
        self.figures: dict[str, dict[str, Any]] = {}
        self.checks: dict[str, dict[str, Any]] = {}
        self.rng = random.Random(11)

    def check(self, name: str, ok: bool, detail: Any) -> None:
        self.checks[name] = {"ok": bool(ok), "detail": detail}
        if not ok:
            log(f"CHECK FAILED: {name}: {detail}")

    def http_figure(
        self, name: str, result: dict[str, Any], allowed: tuple[str, ...] = ()
    ) -> None:
        bare = self.baselines.get("bare_view", {})
        if bare.get("p95_ms") and result.get("p95_ms"):
            result["ratio_p95_to_bare"] = round(result["p95_ms"] / bare["p95_ms"], 2)
        if bare.get("rps") and result.get("rps"):
            result["ratio_rps_to_bare"] = round(result["rps"] / bare["rps"], 3)
        self.figures[name] = result
        non_2xx = {
            k: v
            for k, v in result.get("statuses", {}).items()
            if k[0] != "2" and k not in allowed
        }
        self.check(
            f"{name}: no errors", not result.get("errors") and not non_2xx, non_2xx
        )

    # --- the steps -----------------------------------------------------------------------
    def data(self) -> list[int]:
        cleanup = job("cleanup")
        self.check("cleanup", "error" not in cleanup, cleanup)
        with connect(autocommit=True) as conn:
            marker = read_marker(conn)
            counts = table_counts(conn)
            members = [
                row[0]
                for row in conn.execute(
                    "SELECT contact_id FROM loyalty_loyaltyaccount ORDER BY id"
                ).fetchall()
            ]
        expected = {
            k: v for k, v in (marker or {}).get("counts", {}).items() if k in counts
        }
        self.check(
            "data set counts",
            marker is not None
            and marker["scale"] == self.scale.name
            and counts == expected
            and counts["contacts"] == self.scale.contacts
            and counts["interactions"] == self.scale.interactions
            and counts["purchases"] == self.scale.purchases
            and counts["survey_responses"] == self.scale.survey_responses
            and counts["tickets"] == self.scale.tickets,
            {"found": counts, "recorded": expected},
        )
        validation = job("validate")
        self.check("generated rows validate", validation.get("ok", False), validation)
        return members

    def rollups(self) -> None:
        log("rebuild_metrics…")
        seconds, _out = timed("rebuild_metrics", "-v", "0")
        self.figures["rollup_rebuild"] = {"seconds": round(seconds, 2)}

    def web(self, token: str, members: list[int]) -> None:
        seconds = self.scale.load_seconds
        contact_ids = [
            self.rng.randrange(1, self.scale.contacts + 1) for _i in range(200)
        ]
        today = dt.datetime.now(dt.UTC).date()
        with Gunicorn("config.wsgi:application") as server:
            base = {
                "port": server.port,
                "headers": {"Authorization": f"Token {token}"},
                "concurrency": LATENCY_CLIENTS,
                "duration": seconds,
                "warmup_each": 3,
            }

            def run(
                name: str,
                pool: list[dict[str, Any]],
                allowed: tuple[str, ...] = (),
                **extra: Any,
            ) -> dict[str, Any]:
                log(f"{name}…")
                result = load({**base, "pool": pool, **extra})
                self.http_figure(name, result, allowed)
                return result

            run("contact_list_first_page", [{"path": "/api/v1/contacts/"}])
            log("contact list walk…")
            walked = walk(server.port, token, DEEP_PAGE)
            self.figures["contact_list_walk"] = walked
            self.check(
                "contact list walk: no row twice, every contact reached or depth hit",
                walked.get("ok", False)
                and (
                    walked["pages"] == DEEP_PAGE
                    or walked["distinct"] == self.scale.contacts
                ),
                {k: walked.get(k) for k in ("pages", "rows", "distinct")},
            )
            deep = run(
                "contact_list_deep_page", [{"path": walked.get("deepest_path", "/")}]
            )
            deep["page"] = walked.get("pages")
            run(
                "contact_search",
                [
                    {"path": "/api/v1/contacts/?search=" + _quote(term)}
                    for term in SEARCHES
                ],
            )
            run(
                "contact_detail",
                [{"path": f"/api/v1/contacts/{cid}/"} for cid in contact_ids],
            )
            run(
                "contact_timeline",
                [{"path": f"/api/v1/contacts/{cid}/timeline/"} for cid in contact_ids],
            )
            for name, days in (("dashboard_30_days", 30), ("dashboard_12_months", 365)):
                start = today - dt.timedelta(days=days - 1)
                run(
                    name,
                    [{"path": f"/api/v1/analytics/metrics/?start={start}&end={today}"}],
                )
            self.ledger_load(run, members)
            self.figures["web_memory"] = {"peak_rss_mb": server.peak_rss_mb()}

    def ledger_load(self, run: Any, members: list[int]) -> None:
        """Manager adjustments (each with its own Idempotency-Key, as a retrying client sends
        them) by 16 clients on random members, then on one hot member."""
        adjust = "/api/v1/loyalty/adjustments/"
        sample = self.rng.sample(members, min(len(members), 500))
        run(
            "ledger_random",
            [
                {"method": "POST", "path": adjust, "body": {"contact": cid, "points": p, "reason": "bench"}}
                for cid in sample
                for p in (10, -5)
            ],
            allowed=("409",),  # not enough points: a correct refusal under load
            concurrency=LEDGER_CLIENTS,
            idempotency_keys=True,
        )  # fmt: skip
        hot = members[0]
        run(
            "ledger_hot",
            [
                {"method": "POST", "path": adjust, "body": {"contact": hot, "points": p, "reason": "bench"}}
                for p in (3, -2)
            ],
            allowed=("409",),  # not enough points: a correct refusal under load
            concurrency=LEDGER_CLIENTS,
            idempotency_keys=True,
        )  # fmt: skip
        for name, base_name in (
            ("ledger_random", "tpcb_random"),
            ("ledger_hot", "tpcb_hot"),
        ):
            figure = self.figures[name]
            tps = self.baselines.get(base_name, {}).get("tps")
            figure["ops_per_s"] = figure.get("rps")
            figure["applied"] = figure.get("statuses", {}).get("201", 0)
            figure["refused_409"] = figure.get("statuses", {}).get("409", 0)
            if tps and figure.get("rps"):
                figure["ratio_to_tpcb"] = round(figure["rps"] / tps, 3)

    def web_ledger(self, token: str, members: list[int], seconds: float) -> None:
        """Only the ledger load (``--only ledger``), ``seconds`` per figure."""
        with Gunicorn("config.wsgi:application") as server:
            base = {
                "port": server.port,
                "headers": {"Authorization": f"Token {token}"},
                "duration": seconds,
                "warmup_each": 3,
            }

            def run(
                name: str,
                pool: list[dict[str, Any]],
                allowed: tuple[str, ...] = (),
                **extra: Any,
            ) -> dict[str, Any]:
                log(f"{name}…")
                result = load({**base, "pool": pool, **extra})
                self.http_figure(name, result, allowed)
                return result

            self.ledger_load(run, members)
            self.figures["web_memory"] = {"peak_rss_mb": server.peak_rss_mb()}

    def ledger(self) -> None:
        log("loyalty_verify…")
        done = subprocess.run(
            [PYTHON, "manage.py", "loyalty_verify"],
            cwd=ROOT,
            env=child_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        with connect(autocommit=True) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM loyalty_pointsentry "
                "        WHERE kind IN ('redeem', 'adjust') AND points < 0 AND balance_after < 0),"
                "       (SELECT count(*) FROM loyalty_loyaltyaccount WHERE balance < 0)"
            ).fetchone()
        overdrafts, negative = (int(row[0]), int(row[1])) if row else (-1, -1)
        self.figures["ledger_verify"] = {
            "exit_code": done.returncode,
            "output": (done.stdout + done.stderr).strip()[-500:],
            "overdrafts": overdrafts,
            "negative_balances": negative,
        }
        self.check(
            "ledger verified: 0 mismatches",
            done.returncode == 0,
            (done.stdout + done.stderr)[-300:],
        )
        self.check(
            "ledger: 0 overdrafts",
            overdrafts == 0 and negative == 0,
            [overdrafts, negative],
        )

    def worker(self) -> None:
        log("csv import…")
        imported = job("import", "--rows", str(self.scale.import_rows))
        copy = self.baselines.get("copy", {}).get("rows_per_s")
        if copy and imported.get("rows_per_s"):
            imported["ratio_to_copy"] = round(imported["rows_per_s"] / copy, 4)
        self.figures["csv_import"] = imported
        self.check("csv import: every row created, updated or rejected as expected",
                   imported.get("ok", False),
                   {k: imported.get(k) for k in ("status", "created", "updated", "rejected", "expected")})  # fmt: skip
        log("outreach…")
        from bench.baselines import SmtpSink

        sink = SmtpSink()
        try:
            result = job(
                "outreach",
                "--day",
                dt.datetime.now(dt.UTC).date().isoformat(),
                "--min-messages",
                "50" if self.scale.name == "small" else "1000",
                env=child_env(EMAIL_URL=f"smtp://127.0.0.1:{sink.port}"),
            )
        finally:
            accepted = sink.stop()
        result["sink_accepted"] = accepted
        smtp = self.baselines.get("smtp", {}).get("messages_per_s")
        if smtp and result.get("send_per_s"):
            result["ratio_send_to_smtplib"] = round(result["send_per_s"] / smtp, 3)
        if copy and result.get("plan_rows_per_s"):
            result["ratio_plan_to_copy"] = round(result["plan_rows_per_s"] / copy, 4)
        self.figures["outreach"] = result
        self.check(
            "outreach: every claimed message sent once, the sink got exactly those",
            "error" not in result
            and result.get("sent") == result.get("claimed") == accepted
            and accepted > 0,
            {k: result.get(k) for k in ("claimed", "sent", "sink_accepted")},
        )
        self.figures["worker_memory"] = {
            "peak_rss_mb": max(
                imported.get("peak_rss_mb") or 0, result.get("peak_rss_mb") or 0
            )
        }


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


def table(results: dict[str, Any]) -> str:
    """The Markdown summary: one line per figure, with its baseline ratio and the target."""
    f, b = results["figures"], results["baselines"]
    lines = [
        f"Scale **{results['scale']}** ({results['counts'].get('contacts', 0):,} contacts) on "
        f"{results['machine']['cpus']} CPUs, {results['machine']['system']}, "
        f"{results['date']}; gunicorn {results['machine']['web_workers']} workers, "
        f"{LATENCY_CLIENTS} clients ({LEDGER_CLIENTS} for the ledger).",
        "",
        "| Measure | Rapport | Baseline | Ratio | Target (large) |",
        "|---|---|---|---|---|",
    ]

    def ms(name: str) -> None:
        x = f.get(name, {})
        bare = b.get("bare_view", {})
        lines.append(
            f"| {name.replace('_', ' ')} | p50 {x.get('p50_ms')} / p95 {x.get('p95_ms')} / "
            f"p99 {x.get('p99_ms')} ms, {x.get('rps')} req/s | bare view p95 {bare.get('p95_ms')} ms, "
            f"{bare.get('rps')} req/s | p95 x{x.get('ratio_p95_to_bare')} | {TARGETS.get(name, '')} |"
        )

    for name in ("contact_list_first_page", "contact_list_deep_page"):
        ms(name)
    walk_ = f.get("contact_list_walk", {})
    lines.append(
        f"| contact list walk ({walk_.get('pages')} pages, 1 client) | p50 {walk_.get('p50_ms')} / "
        f"p95 {walk_.get('p95_ms')} / p99 {walk_.get('p99_ms')} ms | | | {TARGETS['contact_list_walk']} |"
    )
    for name in (
        "contact_search",
        "contact_detail",
        "contact_timeline",
        "dashboard_30_days",
        "dashboard_12_months",
    ):
        ms(name)
    lines.append(
        f"| full rollup rebuild | {f.get('rollup_rebuild', {}).get('seconds')} s | | | {TARGETS['rollup_rebuild']} |"
    )
    for name, base in (("ledger_random", "tpcb_random"), ("ledger_hot", "tpcb_hot")):
        x = f.get(name, {})
        lines.append(
            f"| {name.replace('_', ' ')} ({LEDGER_CLIENTS} clients) | {x.get('ops_per_s')} ops/s "
            f"({x.get('applied')} applied, {x.get('refused_409')} refused), p95 {x.get('p95_ms')} ms | "
            f"pgbench-style {b.get(base, {}).get('tps')} tx/s | x{x.get('ratio_to_tpcb')} | {TARGETS[name]} |"
        )
    v = f.get("ledger_verify", {})
    lines.append(
        f"| ledger verified | exit {v.get('exit_code')}, {v.get('overdrafts')} overdrafts | | | 0 mismatches, 0 overdrafts |"
    )
    x = f.get("csv_import", {})
    lines.append(
        f"| CSV import ({x.get('rows')} rows) | {x.get('rows_per_s')} rows/s | COPY {b.get('copy', {}).get('rows_per_s')} rows/s "
        f"| x{x.get('ratio_to_copy')} | {TARGETS['csv_import']} |"
    )
    o = f.get("outreach", {})
    lines.append(
        f"| outreach planning (one day of birthdays) | {o.get('planned_rows')} rows in {o.get('plan_seconds')} s "
        f"({o.get('plan_rows_per_s')} rows/s) | COPY {b.get('copy', {}).get('rows_per_s')} rows/s | "
        f"x{o.get('ratio_plan_to_copy')} | {TARGETS['outreach_plan']} |"
    )
    lines.append(
        f"| outreach sending ({o.get('sent')} messages) | {o.get('send_per_s')} msg/s | smtplib "
        f"{b.get('smtp', {}).get('messages_per_s')} msg/s | x{o.get('ratio_send_to_smtplib')} | {TARGETS['outreach_send']} |"
    )
    lines.append(
        f"| peak memory (RSS) | web worker {f.get('web_memory', {}).get('peak_rss_mb')} MiB, "
        f"job process {f.get('worker_memory', {}).get('peak_rss_mb')} MiB | bare view worker "
        f"{b.get('bare_view', {}).get('peak_rss_mb')} MiB | | |"
    )
    failed = [name for name, c in results["checks"].items() if not c["ok"]]
    lines += [
        "",
        f"Correctness checks: {len(results['checks']) - len(failed)}/{len(results['checks'])} passed"
        + (f"; FAILED: {', '.join(failed)}" if failed else "."),
    ]
    return "\n".join(lines)


def measure(
    scale: Scale, only: str | None = None, seconds: float | None = None
) -> dict[str, Any]:
    baselines_file = WORK_DIR / f"baselines-{scale.name}.json"
    if not baselines_file.exists():
        raise SystemExit(
            f"bench: run `python -m bench.baselines --scale {scale.name}` first"
        )
    baselines = json.loads(baselines_file.read_text())
    run = Run(scale, baselines)
    with connect(autocommit=True) as conn:
        # What autovacuum does on a server that runs it (this machine's PostgreSQL does not):
        # the rows earlier runs deleted (imports cleaned up, rollups rebuilt) are made free
        # space, so a run does not depend on how many ran before it on the same data.
        log("vacuum…")
        conn.execute("VACUUM (ANALYZE)")
    if only == "ledger":
        # Just the ledger load and its verification, on the data set as it is.
        with connect(autocommit=True) as conn:
            members = [
                row[0]
                for row in conn.execute(
                    "SELECT contact_id FROM loyalty_loyaltyaccount ORDER BY id"
                ).fetchall()
            ]
        token = manage("create_api_token", MANAGER_EMAIL).strip()
        run.web_ledger(token, members, seconds or scale.load_seconds)
        run.ledger()
    else:
        members = run.data()
        token = manage("create_api_token", MANAGER_EMAIL).strip()
        run.rollups()
        run.web(token, members)
        run.ledger()
        run.worker()
        job(
            "cleanup"
        )  # leave the data set as generated, for the next run at this scale
    with connect(autocommit=True) as conn:
        counts = table_counts(conn)
        version = conn.execute("SHOW server_version").fetchone()
    results = {
        "scale": scale.name,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "system": f"{platform.system()} {platform.machine()}",
            "python": platform.python_version(),
            "postgres": version[0] if version else None,
            "web_workers": WORKERS,
        },
        "scale_definition": scale.as_dict(),
        "counts": counts,
        "baselines": baselines,
        "figures": run.figures,
        "checks": run.checks,
    }
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="small")
    parser.add_argument(
        "--only",
        choices=["ledger"],
        help="measure only this part (results go to <date>-<scale>-<part>.json)",
    )
    parser.add_argument(
        "--seconds", type=float, help="load duration per figure (default: the scale's)"
    )
    args = parser.parse_args(argv)
    scale = scale_named(args.scale)
    results = measure(scale, only=args.only, seconds=args.seconds)
    markdown = table(results)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = RESULTS_DIR / f"{dt.datetime.now(dt.UTC).date().isoformat()}-{scale.name}"
    if args.only:
        stem = stem.with_name(f"{stem.name}-{args.only}")
    stem.with_suffix(".json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False)
    )
    stem.with_suffix(".md").write_text(markdown + "\n")
    print(markdown)
    print(f"\nbench: wrote {stem}.json and {stem}.md", file=sys.stderr)
    if not all(c["ok"] for c in results["checks"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
