"""Start and stop anvil processes that belong to us.

An :class:`AnvilProcess` is a context manager: the process (and its process group) is killed
on exit, also when the body raises or the user presses Ctrl-C, so no anvil outlives the
program that started it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from keeper.exceptions import ProcessError
from keeper.lifecycle import Service

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def find_anvil() -> str:
    """Return the anvil executable: ``$ANVIL_BIN``, then PATH, then the project's npm copy."""
    if explicit := os.environ.get("ANVIL_BIN"):
        return explicit
    if found := shutil.which("anvil"):
        return found
    # The platform binary that @foundry-rs/anvil installs (not its node launcher).
    for npm_copy in sorted(PROJECT_ROOT.glob("node_modules/@foundry-rs/anvil-*/bin/anvil")):
        return str(npm_copy)
    raise ProcessError("anvil", "executable not found (run 'npm ci' or set ANVIL_BIN)")


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc_ready(url: str, timeout: float = 0.5) -> bool:
    """True when ``url`` answers a JSON-RPC ``eth_chainId``."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return "result" in json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return False


class AnvilProcess(Service):
    """An anvil node on loopback, owned by this process.

    Args:
        chain_id: chain id the node reports.
        port: TCP port; a free one is chosen when omitted.
        args: extra anvil command-line arguments (e.g. ``["--fork-url", url]``).
        startup_timeout: seconds to wait for the node to answer JSON-RPC.
    """

    def __init__(
        self,
        chain_id: int = 31337,
        port: int | None = None,
        args: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        self.chain_id = chain_id
        self.port = port or free_port()
        self.args = list(args)
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def exit_code(self) -> int | None:
        """None while the started anvil runs; its exit code once it died (-1 if never started)."""
        if self._proc is None:
            return -1
        return self._proc.poll()

    def start(self) -> AnvilProcess:
        command = [
            find_anvil(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--silent",
            *self.args,
        ]
        # Own process group: the npm launcher may spawn the real binary as a child, and we
        # must be able to kill both.
        self._proc = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self._proc = None
                raise ProcessError("anvil", f"exited during start-up: {err.strip()[:500]}")
            if rpc_ready(self.url):
                return self
            time.sleep(0.05)
        self.stop()
        raise ProcessError("anvil", f"did not answer on {self.url} within {self.startup_timeout}s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        finally:
            if proc.stderr:
                proc.stderr.close()
