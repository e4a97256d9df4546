"""`policyqa serve` in a child process on a free loopback port, for the tests, the load test and
the benchmark: one way to start it, wait for /readyz, and stop it."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from ingest.errors import PolicyQAError

REPO = Path(__file__).resolve().parents[1]
LOG_TAIL = 3000  # characters of the server log quoted when it fails to come up
SECRET_MARKERS = ("KEY", "TOKEN", "PASSWORD", "SECRET")


class ServerError(PolicyQAError, RuntimeError):
    """The server exited or did not become ready; the message ends with its log's tail."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrubbed_environ() -> dict[str, str]:
    """This process's environment without POLICYQA_* variables: a started server reads only the
    settings its caller gives it, not whatever the developer's shell exports."""
    return {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}


class ServeProcess:
    """`policyqa serve --index-dir INDEX [--corpus CORPUS] --host 127.0.0.1 --port PORT [ARGS]`.

    `env` holds the only POLICYQA_* settings the server sees (plus any other variables to set);
    its output goes to `log`. The server starts at once; `wait_ready()` waits for /readyz.
    """

    def __init__(self, index_dir: Path, log: Path, *, corpus: Path | None = None,
                 env: Mapping[str, str] | None = None, port: int | None = None,
                 extra_args: Sequence[str] = (), ready_timeout: float = 900) -> None:
        self.index_dir, self.corpus, self.log_path = index_dir, corpus, log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_timeout = ready_timeout
        self.env = dict(env or {})
        args = ["serve", "--index-dir", str(index_dir)]
        if corpus is not None:
            args += ["--corpus", str(corpus)]
        args += ["--host", "127.0.0.1", "--port", str(self.port), *extra_args]
        self.args = args
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", *args],
            env={**scrubbed_environ(), "PYTHONPATH": str(REPO), **self.env},
            stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO)

    @property
    def base_url(self) -> str:
        return self.url

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def command(self) -> str:
        """The command as a person would type it (secrets masked)."""
        shown = [f"{k}={'***' if any(m in k for m in SECRET_MARKERS) else shlex.quote(v)}"
                 for k, v in sorted(self.env.items()) if k.startswith("POLICYQA_")]
        return " ".join([*shown, shlex.join(["policyqa", *self.args])])

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _failure(self, what: str) -> ServerError:
        return ServerError(f"{what} ({self.command}); {self.log_path} ends:\n"
                           f"{self.log_text()[-LOG_TAIL:]}")

    def wait_ready(self, timeout: float | None = None) -> None:
        timeout = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._failure(f"server exited with status {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:  # refused, not ready yet (503), or slow
                pass
            time.sleep(0.5)
        raise self._failure(f"server not ready after {timeout:.0f} s")

    def stop(self, grace: float = 30) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
