"""Helpers shared by the tests: copying corpus files and running the real server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Real documents for the HTTP and browser tests: small enough to embed in about a minute,
# varied enough to cover every reader and citation type.
SERVER_DOCUMENTS = [
    "treaties/refugee_convention_1951.md",
    "treaties/smuggling_of_migrants_protocol_2000.md",
    "pdf/refugee_convention_and_protocol_unhcr.pdf",
    "pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf",
    "legislation/canada/ca_extradition_act_E-23.01.xml",
    "legislation/us/usc_title8_chapter15.md",
]
ADMIN_KEY = "test-admin-key-0123456789"


def copy_documents(source: Path, target: Path, documents: list[str]) -> Path:
    for rel in documents:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, target / rel)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`policyqa serve` in its own process on a loopback port: the README's main command."""

    def __init__(self, corpus: Path, index_dir: Path, port: int, env: dict[str, str]) -> None:
        self.corpus, self.index_dir, self.port = corpus, index_dir, port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = (index_dir.parent / "server.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--corpus", str(corpus),
             "--index-dir", str(index_dir), "--port", str(port)],
            env={**env, "PYTHONPATH": str(REPO)}, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base_url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"server not ready after {timeout} s: {self.log_text()[-3000:]}")

    def log_text(self) -> str:
        self.log.flush()
        return (self.index_dir.parent / "server.log").read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except Exception:
            self.process.kill()
        self.log.close()
