"""One shape for everything the keeper starts and stops (anvil, the fork upstream, the local
relay, a test PostgreSQL cluster): ``start()`` returns the running service, ``stop()`` is
idempotent and safe after a failed start, and ``with service:`` stops it however the block
ends."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """Base for a startable service: subclasses implement :meth:`start` and :meth:`stop`."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
