"""A private, throw-away PostgreSQL cluster for tests.

``initdb`` into a fresh temporary folder, ``pg_ctl start`` on a free loopback port with the unix
socket in that folder, one database, and at the end ``pg_ctl stop`` and the folder removed.
PostgreSQL refuses to run as root: as root, every server command runs as the ``postgres``
system user (``runuser``) and the folder belongs to it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from keeper.lifecycle import Service

SERVER_TOOLS = ("initdb", "pg_ctl", "postgres", "createdb")
DATABASE = "keeper_test"
_BINDIR_GLOB = "/usr/lib/postgresql/*/bin"


class ClusterUnavailableError(RuntimeError):
    """What is missing to start a cluster on this machine (the tests skip with this text)."""


def find_bindir() -> Path:
    """The folder holding the server tools: ``KEEPER_TEST_PG_BINDIR``, else ``PATH``, else the
    newest Debian ``/usr/lib/postgresql/<version>/bin``."""
    candidates: list[Path] = []
    if override := os.environ.get("KEEPER_TEST_PG_BINDIR"):
        candidates.append(Path(override))
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).resolve().parent)
    versions = sorted(
        Path("/").glob(_BINDIR_GLOB.lstrip("/")),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0],
        reverse=True,
    )
    candidates.extend(versions)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in SERVER_TOOLS):
            return folder
    raise ClusterUnavailableError(
        f"PostgreSQL server binaries ({', '.join(SERVER_TOOLS)}) not found in "
        f"$KEEPER_TEST_PG_BINDIR, PATH or {_BINDIR_GLOB} (Debian: apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster(Service):
    """Usage: ``with PostgresCluster() as cluster: engine = create_engine(cluster.url)``."""

    def __init__(self, bindir: Path | None = None, start_timeout_s: int = 60) -> None:
        self.bindir = bindir or find_bindir()
        self.start_timeout_s = start_timeout_s
        self.root: Path | None = None
        self.port: int | None = None
        self._as_user: list[str] = []
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError:
                raise ClusterUnavailableError(
                    "running as root needs a 'postgres' system user (apt-get install postgresql)"
                ) from None
            if runuser is None:
                raise ClusterUnavailableError("running as root needs runuser (util-linux)")
            self._as_user = [runuser, "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database (psycopg 3, TCP on loopback)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.root is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", TZ="UTC")
        command = [*self._as_user, str(self.bindir / tool), *args]
        # cwd inside the cluster folder: the server tools fail in a folder they cannot read.
        return subprocess.run(
            command,
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self.start_timeout_s + 30,
            check=False,
        )

    def _check(self, result: subprocess.CompletedProcess[str], what: str) -> None:
        if result.returncode != 0:
            log = ""
            if self.root is not None and (self.root / "server.log").exists():
                log = (self.root / "server.log").read_text()[-2000:]
            raise RuntimeError(
                f"postgres test cluster: {what} failed ({result.returncode}): "
                f"{result.stdout[-1000:]}{result.stderr[-1000:]}\n{log}"
            )

    def start(self) -> PostgresCluster:
        # Under /tmp, not $TMPDIR: the postgres user must be able to reach the folder.
        base = "/tmp" if os.path.isdir("/tmp") else None
        self.root = Path(tempfile.mkdtemp(prefix="keeper-pg-", dir=base))
        try:
            if self._owner is not None:
                os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)
            self._check(
                self._run(
                    "initdb",
                    *("-D", str(self.data), "-U", "postgres", "-A", "trust"),
                    *("-E", "UTF8", "--no-locale", "--no-sync"),
                ),
                "initdb",
            )
            for attempt in range(3):  # a free port can be taken between probe and bind
                self.port = _free_port()
                settings = " ".join(
                    f"-c {k}={v}"
                    for k, v in {
                        "listen_addresses": "127.0.0.1",
                        "port": self.port,
                        "unix_socket_directories": self.root,
                        "fsync": "off",  # a throw-away cluster: no need to survive power loss
                        "synchronous_commit": "off",
                        "full_page_writes": "off",
                        "max_connections": 100,
                    }.items()
                )
                started = self._run(
                    "pg_ctl",
                    *("-D", str(self.data), "-l", str(self.root / "server.log")),
                    *("-w", "-t", str(self.start_timeout_s), "-o", settings, "start"),
                )
                if started.returncode == 0:
                    break
                if attempt == 2:
                    self._check(started, "pg_ctl start")
            self._check(
                self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), DATABASE),
                "createdb",
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and delete the folder."""
        if self.root is None:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                stopped = self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
                if stopped.returncode != 0:
                    self._kill_postmaster()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)  # the server this cluster started
