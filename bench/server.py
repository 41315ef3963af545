"""Start and stop gunicorn (the deployment's web server) for a measurement, and read the
peak memory of its workers."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from typing import Any

from bench.common import PYTHON, ROOT, WORK_DIR, child_env, free_port

WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))  # the Dockerfile's gunicorn workers


class Gunicorn:
    """``gunicorn <app> --workers N`` on a free loopback port, with the bench environment."""

    def __init__(
        self, app: str, *, env: dict[str, str] | None = None, probe: str = "/health/"
    ) -> None:
        self.app, self.probe = app, probe
        self.port = free_port()
        self.env = env or child_env()
        self.process: subprocess.Popen[bytes] | None = None
        # Request warnings (e.g. the 409s of a refused deduction) go to a file, not the table.
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        self.log = (WORK_DIR / "gunicorn.log").open("ab")

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                self.app,
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(WORKERS),
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: gunicorn {self.app} exited at start")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.probe)
                conn.getresponse().read()
                conn.close()
                return self
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"bench: gunicorn {self.app} did not answer within 60s")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        path = f"/proc/{self.process.pid}/task/{self.process.pid}/children"
        try:
            with open(path) as handle:
                children = handle.read().split()
        except OSError:
            return []
        return [int(pid) for pid in children]

    def peak_rss_mb(self) -> float | None:
        """The highest peak resident set (VmHWM) of any worker so far, in MiB."""
        peaks = [
            peak for pid in self.worker_pids() if (peak := vm_hwm_mb(pid)) is not None
        ]
        return max(peaks) if peaks else None

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def vm_hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load client in its own process with ``spec``; its results."""
    done = subprocess.run(
        [PYTHON, "-m", "bench.loadclient"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env(),
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"bench: the load client failed:\n{done.stderr}")
    return dict(json.loads(done.stdout))
