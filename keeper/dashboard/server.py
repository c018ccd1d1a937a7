"""The dashboard as a :class:`~keeper.lifecycle.Service`: uvicorn in a thread, on loopback
unless ``dashboard.public`` is set (the settings refuse a non-loopback host otherwise)."""

from __future__ import annotations

import threading
import time
from typing import Any

from keeper.dashboard.context import DashboardContext
from keeper.exceptions import ProcessError
from keeper.lifecycle import Service


class DashboardServer(Service):
    def __init__(self, ctx: DashboardContext, host: str, port: int) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port
        self.server: Any = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> DashboardServer:
        import uvicorn

        from keeper.dashboard.app import create_app

        config = uvicorn.Config(
            create_app(self.ctx), host=self.host, port=self.port, log_level="warning",
            access_log=False, lifespan="off",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ProcessError("dashboard", f"could not listen on {self.host}:{self.port}")
            time.sleep(0.02)
        if self.port == 0:  # an OS-chosen port: read it back
            sockets = self.server.servers[0].sockets
            self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.server = None
        self.thread = None
