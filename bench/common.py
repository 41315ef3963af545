"""What every bench script shares: the scales, the environment of child processes, the
database connection, a progress bar and the marker row that says which scale is loaded."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
WORK_DIR = ROOT / "var" / "bench"
PYTHON = sys.executable
MARKER_TABLE = "bench_dataset"
MANAGER_EMAIL = "bench-manager@example.com"
AGENT_EMAILS = [f"bench-agent{i}@example.com" for i in range(1, 6)]
# One secret key for every process of a run (tokens live in the database, not in signatures).
os.environ.setdefault("BENCH_SECRET_KEY", secrets.token_urlsafe(50))


@dataclass(frozen=True)
class Scale:
    """How many rows of each kind a data set has (large = the issue's figures)."""

    name: str
    contacts: int
    interactions: int
    purchases: int
    ledger_entries: int
    survey_responses: int
    tickets: int
    companies: int
    import_rows: int
    load_seconds: float  # how long each latency measurement runs

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _scale(name: str, contacts: int, import_rows: int, load_seconds: float) -> Scale:
    """The issue's large proportions (per contact: 10 interactions, 2 purchases, 3 ledger
    entries, 0.2 survey responses, 0.1 tickets), scaled to ``contacts``."""
    return Scale(
        name=name,
        contacts=contacts,
        interactions=contacts * 10,
        purchases=contacts * 2,
        ledger_entries=contacts * 3,  # nominal: the ledger follows from the purchases
        survey_responses=contacts // 5,
        tickets=contacts // 10,
        companies=max(contacts // 50, 200),
        import_rows=import_rows,
        load_seconds=load_seconds,
    )


# The import file is the 100,000 rows at the large scale; smaller scales keep their
# runs short (the import goes through the services row by row).
SCALES = {
    "small": _scale("small", 5_000, import_rows=200, load_seconds=2.0),
    "medium": _scale("medium", 100_000, import_rows=20_000, load_seconds=5.0),
    "large": _scale("large", 1_000_000, import_rows=100_000, load_seconds=15.0),
}


def scale_named(name: str) -> Scale:
    try:
        return SCALES[name]
    except KeyError:
        raise SystemExit(
            f"bench: unknown scale {name!r}; use one of {', '.join(SCALES)}"
        ) from None


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "bench: set DATABASE_URL to a PostgreSQL database, e.g. "
            "postgres://postgres@127.0.0.1:5432/rapport_bench"
        )
    return url


def ensure_database() -> None:
    """Create the database named in DATABASE_URL when it does not exist yet."""
    info = psycopg.conninfo.conninfo_to_dict(database_url())
    name = str(info.get("dbname") or "")
    admin = {**info, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as conn:  # type: ignore[arg-type]
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone():
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(
                    psycopg.sql.Identifier(name)
                )
            )


def connect(autocommit: bool = False) -> psycopg.Connection[Any]:
    return psycopg.connect(database_url(), autocommit=autocommit)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of every Rapport process the bench starts: production-like settings."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        DEBUG="false",
        SECURE="false",  # plain HTTP on loopback: no HTTPS redirect
        SECRET_KEY=env["BENCH_SECRET_KEY"],
        ALLOWED_HOSTS="127.0.0.1",
        CELERY_TASK_ALWAYS_EAGER="false",
        LOG_LEVEL="ERROR",  # 409s under load are expected answers, not news
        # whitenoise notes the missing collectstatic output; the API serves no static files.
        PYTHONWARNINGS="ignore:No directory at",
        MEDIA_ROOT=str(WORK_DIR / "media"),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str] | None = None) -> str:
    """Run ``manage.py`` with the bench environment; its stdout."""
    done = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env or child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bench: manage.py {' '.join(args)} failed")
    return done.stdout


def setup_django() -> None:
    """Configure Django in this process with the bench environment (for services/ORM)."""
    os.environ.update(child_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Progress:
    """A plain progress bar on stderr (no extra dependency), redrawn at most 10 times a second."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = self._drawn = time.monotonic()
        self.tty = sys.stderr.isatty()
        self._draw(force=True)

    def advance(self, count: int) -> None:
        self.done += count
        self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < (0.1 if self.tty else 5.0):
            return
        self._drawn = now
        width = 30
        filled = int(width * min(self.done, self.total) / self.total)
        rate = self.done / max(now - self.started, 1e-9)
        line = (
            f"{self.label:<22} [{'#' * filled}{'-' * (width - filled)}] "
            f"{self.done:>10,}/{self.total:,} {rate:>10,.0f}/s"
        )
        sys.stderr.write(("\r" if self.tty else "") + line + ("" if self.tty else "\n"))
        sys.stderr.flush()

    def close(self) -> float:
        elapsed = time.monotonic() - self.started
        self._draw(force=True)
        if self.tty:
            sys.stderr.write("\n")
        return elapsed


@contextmanager
def progress(label: str, total: int) -> Iterator[Progress]:
    bar = Progress(label, total)
    try:
        yield bar
    finally:
        bar.close()


def read_marker(conn: psycopg.Connection[Any]) -> dict[str, Any] | None:
    """The scale (and figures) of the loaded data set, or None when there is none."""
    exists = conn.execute("SELECT to_regclass(%s)", [MARKER_TABLE]).fetchone()
    if not exists or exists[0] is None:
        return None
    row = conn.execute(
        f"SELECT scale, counts FROM {MARKER_TABLE} WHERE id = 1"
    ).fetchone()
    return None if row is None else {"scale": row[0], "counts": row[1]}


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
