"""pywb, the web archivists' replay tool, run for real: a collection made with its own
``wb-manager``, served by ``wayback`` on 127.0.0.1, one page asked for. The ``pywb``
fixture (tests/conftest.py) finds the programs."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def replay(pywb: Path, folder: Path, add: list[str], path: str) -> tuple[bytes, dict[str, str]]:
    """Make collection ``c`` in ``folder`` with ``wb-manager add c ADD...``, serve it, and
    return the body and headers of ``/c/PATH`` (waiting, within a minute, for the server)."""
    manager = str(pywb / "wb-manager")
    subprocess.run([manager, "init", "c"], cwd=folder, check=True, capture_output=True)
    subprocess.run([manager, "add", "c", *add], cwd=folder, check=True, capture_output=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(pywb / "wayback"), "--bind", "127.0.0.1", "--port", str(port)],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/c/{path}", timeout=5) as r:
                    return r.read(), dict(r.headers)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=10)
