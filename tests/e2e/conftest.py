"""One `keeper dev up` for the CLI journeys, run as a person would: subprocesses in a working
directory outside the repository, nothing imported from the stack into the test process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keeper.dashboard.browser import chromium_path, launch

ROOT = Path(__file__).resolve().parents[2]


def _outside_repo() -> Path:
    for base in (Path("/tmp"), Path.home()):
        if base.is_dir() and ROOT not in base.resolve().parents and base.resolve() != ROOT:
            return Path(tempfile.mkdtemp(prefix="keeper-e2e-", dir=base))
    raise RuntimeError("no writable folder outside the repository")


@dataclass
class Shell:
    """Runs ``keeper …`` in ``cwd`` with a clean environment (no KEEPER_* settings leak in)."""

    cwd: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, timeout: float = 240) -> Any:
        result = subprocess.run(
            [sys.executable, "-m", "keeper.cli", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"keeper {' '.join(args)} exited {result.returncode}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result


@pytest.fixture(scope="session")
def dev_shell() -> Any:
    """A working directory outside the repo with `keeper dev up` running in it; yields
    (Shell, the dev.json it wrote)."""
    cwd = _outside_repo()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPER_")}
    env["KEEPER_STATE_DIR"] = str(cwd / "state")
    shell = Shell(cwd, env)
    log = (cwd / "dev-up.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "keeper.cli", "dev", "up", "--dir", "dev", "--rpc-port", "0",
         "--relay-port", "0", "--intake-port", "0"],
        cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    info_file = cwd / "dev" / "dev.json"
    try:
        deadline = time.monotonic() + 300
        while not info_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"keeper dev up failed:\n{(cwd / 'dev-up.log').read_text()}")
            time.sleep(0.5)
        info = json.loads(info_file.read_text())
        yield shell, info
        proc.send_signal(signal.SIGINT)  # as Ctrl-C: the stack stops everything it started
        assert proc.wait(90) == 0, (cwd / "dev-up.log").read_text()
        assert "stopped (chain, relay and keeper)" in (cwd / "dev-up.log").read_text()
        for url in (info["rpc"], info["relay"], info["intake"]):
            port = int(url.rsplit(":", 1)[1])
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", port)) != 0, f"{url} still answers"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(cwd, ignore_errors=True)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    from keeper.devstack.dashboard_demo import dashboard_scenario

    with dashboard_scenario(tmp_path_factory.mktemp("dashboard")) as s:
        yield s


@pytest.fixture(scope="session")
def browser():
    if chromium_path() is None:
        pytest.skip(
            "chromium is not installed and could not be (make test installs the Debian "
            "package `chromium` when apt-get works; or set CHROMIUM=/path/to/chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
