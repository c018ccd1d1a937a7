"""Store back-ends for the intent tests: a SQLite file, and a private PostgreSQL cluster.

``db_url`` is parametrised over both, so every store test runs on each. The PostgreSQL cluster
is started once per session (see ``pg_cluster.py``); each test gets an empty schema. With
``KEEPER_TEST_POSTGRES_URL`` set, that server is used instead of a private one (its ``public``
schema is wiped before every test). Without server binaries or driver the PostgreSQL cases
skip, naming what is missing — except under CI (``CI`` set), where they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from keeper.intents.store import IntentStore
from tests.keeper.intents.pg_cluster import ClusterUnavailableError, PostgresCluster

BACKENDS = ["sqlite", "postgres"]


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run under CI: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL database for the whole session."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg (PostgreSQL driver) not installed: pip install -e '.[postgres]'")
    if url := os.environ.get("KEEPER_TEST_POSTGRES_URL"):
        yield url
        return
    try:
        cluster = PostgresCluster()
    except ClusterUnavailableError as missing:
        _unavailable(str(missing))
    with cluster:
        yield cluster.url


def reset_schema(url: str) -> None:
    """Drop every table of the test database (stores create their own tables)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """An empty PostgreSQL database for one test."""
    reset_schema(postgres_server)
    return postgres_server


#: on a test that needs PostgreSQL and ``open_store``: run it on PostgreSQL only
postgres_only = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'intents.db'}"


@pytest.fixture
def open_store(db_url: str) -> Iterator[Callable[..., IntentStore]]:
    """``open_store(keeper_id, url=db_url, **kw)``: stores closed at the end of the test."""
    opened: list[IntentStore] = []

    def open_(keeper_id: str = "k1", url: str | None = None, **kw) -> IntentStore:
        store = IntentStore(url or db_url, keeper_id=keeper_id, **kw)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[..., IntentStore]) -> IntentStore:
    return open_store("k1")
