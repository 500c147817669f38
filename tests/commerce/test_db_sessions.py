"""How a request's session ends its transaction: COMMIT when it only read (so psycopg keeps the
statements it prepared), ROLLBACK for anything else not committed, as ever."""
from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
import pytest
from sqlalchemy import create_engine, event, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from commerce import events
from commerce.db import DukaSession, make_engine, make_session_factory, normalise_url
from commerce.models import Category, Store
from tests.conftest import TEST_DATABASE_URL
from wsgi import JOBS


@dataclass
class Sessions:
    """The app's session factory (call it), the demo store's id, and how each transaction on
    the app's engine ended ("commit" or "rollback")."""

    make: sessionmaker
    store_id: int
    ended: list[str] = field(default_factory=list)

    def __call__(self) -> DukaSession:
        return self.make()


@pytest.fixture
def factory(app, store):
    engine = app.extensions["duka.engine"]
    sessions = Sessions(app.extensions["duka.db"], store.id)
    ended = sessions.ended

    def on_commit(_conn):
        ended.append("commit")

    def on_rollback(_conn):
        ended.append("rollback")

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    yield sessions
    event.remove(engine, "commit", on_commit)
    event.remove(engine, "rollback", on_rollback)


def _store_name(factory) -> str:
    with factory() as session:
        return session.scalar(select(Store.name).where(Store.id == factory.store_id))


def test_a_block_that_only_read_ends_with_commit(factory):
    with factory() as session:
        session.scalar(select(Store).where(Store.id == factory.store_id))
        session.scalars(select(Category).where(Category.store_id == factory.store_id)).all()
    assert factory.ended == ["commit"]


def test_a_block_that_read_nothing_ends_nothing(factory):
    with factory():
        pass
    assert factory.ended == []


def test_a_change_flushed_but_not_committed_is_rolled_back(factory):
    with factory() as session:
        session.get(Store, factory.store_id).name = "Renamed"
        session.flush()
    assert factory.ended == ["rollback"]
    assert _store_name(factory) == "Mama Mboga Fresh"


def test_a_change_not_even_flushed_is_rolled_back(factory):
    with factory() as session:
        session.get(Store, factory.store_id).name = "Renamed"
    assert factory.ended == ["rollback"]
    assert _store_name(factory) == "Mama Mboga Fresh"


def test_a_core_update_not_committed_is_rolled_back(factory):
    with factory() as session:
        session.execute(update(Store).where(Store.id == factory.store_id).values(name="Renamed"))
        session.connection().execute(
            update(Store).where(Store.id == factory.store_id).values(name="Renamed again"))
    assert factory.ended == ["rollback"]
    assert _store_name(factory) == "Mama Mboga Fresh"


def test_what_a_savepoint_saved_goes_with_the_transaction_that_held_it(factory):
    """On SQLite too: there a SAVEPOINT sent outside a transaction began one of its own, and
    its RELEASE committed it."""
    with factory() as session:
        session.scalar(select(Store.name))  # a read: sqlite3 begins nothing for it
        with session.begin_nested():
            session.get(Store, factory.store_id).name = "Renamed"
    assert factory.ended == ["rollback"]
    assert _store_name(factory) == "Mama Mboga Fresh"


def test_a_block_that_raised_after_reading_is_rolled_back(factory):
    with pytest.raises(RuntimeError):
        with factory() as session:
            session.scalar(select(Store.name))
            raise RuntimeError("the hop failed")
    assert factory.ended == ["rollback"]


def test_a_statement_that_failed_ends_with_rollback_even_if_the_block_carried_on(factory):
    with factory() as session:
        with pytest.raises(DBAPIError):
            session.execute(text("SELECT no_such_column FROM stores"))
    assert factory.ended == ["rollback"]


def test_after_a_commit_a_later_read_is_committed_too(factory):
    with factory() as session:
        session.get(Store, factory.store_id).name = "Renamed"
        session.commit()
        session.scalar(select(Store.name))
    assert factory.ended == ["commit", "commit"]
    assert _store_name(factory) == "Renamed"


def test_a_block_that_closed_its_session_itself_ends_quietly(factory):
    with factory() as session:
        session.scalar(select(Store.name))
        session.close()
    assert factory.ended == ["rollback"]  # close() ended it, as ever


def test_a_session_on_an_engine_nobody_watches_never_commits_by_itself(database_url, store):
    """Only an engine made ready by make_session_factory says what a transaction wrote."""
    engine = create_engine(normalise_url(database_url))
    try:
        with DukaSession(bind=engine) as session:
            session.get(Store, store.id).name = "Renamed"
            session.flush()
        with DukaSession(bind=engine) as session:
            assert session.get(Store, store.id).name == "Mama Mboga Fresh"
    finally:
        engine.dispose()


def test_a_write_on_one_connection_is_not_committed_by_a_read_on_another(app, store):
    other = make_engine(app.config["DATABASE_URL"])
    make_session_factory(other)
    try:
        with DukaSession(binds={Store: app.extensions["duka.engine"], Category: other}) as s:
            s.get(Store, store.id).name = "Renamed"
            s.flush()
            s.scalars(select(Category)).all()  # a read, on the other engine
        with app.extensions["duka.db"]() as session:
            assert session.get(Store, store.id).name == "Mama Mboga Fresh"
    finally:
        other.dispose()


def test_events_rolled_back_kick_no_relay_when_a_later_read_commits(factory):
    """The relay is queued after a commit that recorded events, not after one that only read
    because an earlier transaction recorded some and was rolled back."""
    queued = []

    class Jobs:
        def enqueue(self, job, *args, **kwargs):
            queued.append(job.__name__)

    with factory() as session:
        session.info[JOBS] = Jobs()
        events.record(session, factory.store_id, events.ORDER_PLACED, {"order_id": 0})
        session.flush()
        session.rollback()
        session.scalar(select(Store.name))
    assert factory.ended == ["rollback", "commit"]
    assert queued == []
    with factory() as session:
        session.info[JOBS] = Jobs()
        events.record(session, factory.store_id, events.ORDER_PLACED, {"order_id": 0})
        session.commit()
    assert queued == ["relay_events"]


def _dropped_by_the_server(session) -> None:
    """What a database restart does to the session's connection."""
    pid = session.scalar(text("SELECT pg_backend_pid()"))
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        admin.execute("SELECT pg_sleep(0.05)")


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="a server that drops the connection")
def test_a_connection_the_server_dropped_fails_as_a_database_error_and_rolls_back(app, store):
    make = app.extensions["duka.db"]
    with pytest.raises(DBAPIError) as failed:
        with make() as session:
            _dropped_by_the_server(session)
            session.scalar(select(Store.name))
    assert failed.value.connection_invalidated
    with make() as session:
        _dropped_by_the_server(session)
        with pytest.raises(DBAPIError):
            session.scalar(select(Store.name))
        session.rollback()  # as committing() does: no second error
        assert session.scalar(select(Store.name)) == "Mama Mboga Fresh"


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="a server that drops the connection")
def test_a_block_that_caught_a_dropped_connection_ends_quietly(app, store):
    with app.extensions["duka.db"]() as session:
        _dropped_by_the_server(session)
        with pytest.raises(DBAPIError):
            session.scalar(select(Store.name))
    with app.extensions["duka.db"]() as session:  # and the pool carries on
        assert session.scalar(select(Store.name)) == "Mama Mboga Fresh"


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL's prepared statements")
def test_statements_prepared_by_postgresql_outlive_a_block_that_only_read():
    """psycopg prepares a statement its connection ran 5 times; a ROLLBACK makes it forget
    them all, and the server plans each again. A read-only block must not cost that."""
    engine = make_engine(TEST_DATABASE_URL)
    make = make_session_factory(engine)
    count = text("SELECT count(*) FROM pg_prepared_statements")
    try:
        for _ in range(6):
            with make() as session:
                session.execute(select(Store.id).where(Store.id == 1)).all()
        with make() as session:
            prepared = session.scalar(count)
        with make() as session:
            assert session.scalar(count) == prepared > 0
    finally:
        engine.dispose()
