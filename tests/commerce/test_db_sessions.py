"""How a request's session ends its transaction: COMMIT when it only read (so psycopg keeps the
statements it prepared), ROLLBACK for anything else not committed, as ever."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import DBAPIError

from commerce.db import make_engine, make_session_factory
from commerce.models import Category, Store
from tests.conftest import TEST_DATABASE_URL


@pytest.fixture
def factory(app, store):
    """The app's session factory, and the demo store's id, with an ``ended`` list of how each
    transaction ended ("commit" or "rollback")."""
    engine = app.extensions["duka.engine"]
    ended: list[str] = []

    def on_commit(_conn):
        ended.append("commit")

    def on_rollback(_conn):
        ended.append("rollback")

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    make = app.extensions["duka.db"]
    make.ended, make.store_id = ended, store.id
    yield make
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
