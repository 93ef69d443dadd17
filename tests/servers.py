"""Real inference servers for tests: ``transformers serve`` on 127.0.0.1, offline.

``start_transformers_serve(model_dir)`` starts the server pinned to a local model folder
on a free port, waits (bounded) until ``GET /v1/models`` answers, and returns a handle
whose ``stop()`` ends the whole process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tiny_model_dir(root: Path) -> Path:
    """A seeded random-weight Llama with the SmolLM2 tokenizer and chat template, saved to ``root``."""
    from tests.tiny_models import build_tiny_llama

    return build_tiny_llama(root / "tiny-llama", seed=0)


def default_model_dir() -> Path | None:
    """The converted default model (SmolLM2-135M-Instruct) when the local backend provides it."""
    try:
        from workbench.generate.local import ensure_default_model_dir  # type: ignore[attr-defined]
    except ImportError:
        return None
    return Path(ensure_default_model_dir())


@dataclass
class ServedModel:
    """A running ``transformers serve`` process and how to reach it."""

    process: subprocess.Popen[bytes]
    base_url: str
    model: str
    log_path: Path
    workdir: Path
    _stopped: bool = field(default=False, repr=False)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """End the server's process group (TERM, then KILL after 10 s) and remove its files."""
        if self._stopped:
            return
        self._stopped = True
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


class ServerStartError(RuntimeError):
    """The server could not be started on this machine."""


def transformers_cli() -> list[str]:
    """The command that runs the ``transformers`` CLI of this interpreter's environment."""
    exe = Path(sys.executable).with_name("transformers")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("transformers")
    if found:
        return [found]
    raise ServerStartError(
        "the `transformers` command is not installed (pip install 'transformers[serving]')"
    )


def start_transformers_serve(model_dir: Path, timeout: float = 120.0) -> ServedModel:
    """Start ``transformers serve MODEL_DIR`` on 127.0.0.1, offline, and wait until it answers."""
    for module in ("fastapi", "uvicorn", "openai"):
        try:
            __import__(module)
        except ImportError as exc:
            raise ServerStartError(f"`transformers serve` needs {module} (requirements/test.txt)") from exc
    workdir = Path(tempfile.mkdtemp(prefix="workbench-serve-"))
    hub_cache = workdir / "hub"  # `GET /v1/models` scans the hub cache: give it an empty one
    hub_cache.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_CACHE": str(hub_cache),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        # one thread: on a shared 2-core machine, 2 OpenMP threads made requests 10x slower (spin-waiting)
        "OMP_NUM_THREADS": os.environ.get("WORKBENCH_SERVE_THREADS", "1"),
    }
    cmd = [
        *transformers_cli(),
        "serve",
        str(model_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
        "--log-level",
        "info",
    ]
    log_path = workdir / "serve.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            cmd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    served = ServedModel(process, f"http://127.0.0.1:{port}/v1", str(model_dir), log_path, workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = served.log_tail()
            served.stop()
            raise ServerStartError(f"`transformers serve` exited with code {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{served.base_url}/models", timeout=2.0).status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    tail = served.log_tail()
    served.stop()
    raise ServerStartError(f"`transformers serve` did not answer within {timeout:.0f} s:\n{tail}")
