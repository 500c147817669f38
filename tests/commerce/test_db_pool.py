"""The PostgreSQL pool pings a connection only when it has been idle, and recovers from a
server that dropped its connections (PostgreSQL only: SQLite has no server to lose)."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from commerce import db as commerce_db
from commerce.db import make_engine
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs TEST_DATABASE_URL")


@pytest.fixture
def engine():
    engine = make_engine(TEST_DATABASE_URL)
    yield engine
    engine.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(*pids: int) -> None:
    """What a database restart or an idle timeout does to a pooled connection."""
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        admin.execute("SELECT pg_sleep(0.05)")  # the backend is gone before we go on


@pytest.fixture
def pings(engine, monkeypatch) -> list[int]:
    """Counts the pings the pool sends (each is a round trip to the server)."""
    sent: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_conn):
        sent.append(1)
        return ping(dbapi_conn)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return sent


def test_a_connection_used_a_moment_ago_is_handed_out_without_a_ping(engine, pings):
    first = _backend_pid(engine)
    assert _backend_pid(engine) == first  # the same pooled connection, reused
    assert pings == []


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(engine, pings,
                                                                       monkeypatch):
    dropped = _backend_pid(engine)
    _terminate(dropped)
    monkeypatch.setattr(commerce_db, "IDLE_PING_SECONDS", 0.0)  # every connection counts as idle

    again = _backend_pid(engine)  # no error: the ping found it dead, the pool connected anew

    assert again != dropped
    assert pings == [1]


def test_after_a_restart_one_statement_fails_then_every_pooled_connection_is_fresh(engine):
    with engine.connect() as one, engine.connect() as two:  # two connections in the pool
        pids = [conn.execute(text("SELECT pg_backend_pid()")).scalar_one() for conn in (one, two)]
    _terminate(*pids)

    with pytest.raises(DBAPIError) as failed, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert failed.value.connection_invalidated

    with engine.connect() as one, engine.connect() as two:  # neither is a dead one
        now = {conn.execute(text("SELECT pg_backend_pid()")).scalar_one() for conn in (one, two)}
    assert not now & set(pids)
