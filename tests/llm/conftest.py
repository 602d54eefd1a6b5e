"""A real OpenAI-compatible server for the `llm` suite: llama.cpp's server with SmolLM2-135M on loopback.

`scripts/llm-server.sh install` builds it once (~4 minutes; scripts/test-all.sh runs it before the suites). The
tests skip — saying why — only when that build is impossible on this machine.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "llm-server.sh"


@dataclass
class Server:
    """A running server and how to stop it."""

    base_url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _install() -> None:
    done = subprocess.run(["bash", str(SCRIPT), "install"], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        pytest.skip("llama.cpp server could not be built here: " + " | ".join(tail))


def start_server(log: Path) -> Server:
    """Start a server on a free loopback port and wait until it answers."""
    _install()
    port = free_port()
    out = log.open("wb")
    proc = subprocess.Popen(["bash", str(SCRIPT), "start", str(port)], stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}/v1", proc)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited ({proc.returncode}); log: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.base_url}/models", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"llama.cpp server did not come up in 120 s; log: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the whole suite."""
    server = start_server(tmp_path_factory.mktemp("llm") / "server.log")
    yield server
    server.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A server this test may kill."""
    server = start_server(tmp_path / "server.log")
    yield server
    server.stop()
