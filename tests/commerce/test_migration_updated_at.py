"""Migration 0006: ``updated_at`` on variants and cart lines, filled in for the rows there are.

Runs on a database of its own (a file on SQLite; a throwaway database next to
TEST_DATABASE_URL's on PostgreSQL), since it goes down and up the migrations with rows in place.
"""
from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import bindparam, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from commerce import carts
from commerce.customers import get_or_create_customer
from commerce.db import (
    UtcDateTime, alembic_config, make_engine, make_session_factory, normalise_url,
    upgrade_database,
)
from commerce.demo import seed_demo_store
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import variant_by_sku

T0, T1, T2, T3 = (datetime(2025, 1, day, 8, 30, tzinfo=timezone.utc) for day in (1, 2, 3, 4))


@pytest.fixture
def empty_database(tmp_path):
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url = make_url(normalise_url(TEST_DATABASE_URL))
    name = f"{url.database}_migrations"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as error:
        server.dispose()
        pytest.skip(f"cannot make a throwaway database next to TEST_DATABASE_URL: {error}")
    yield url.set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    server.dispose()


def _at(conn, sql: str, **params):
    """Run ``sql`` with its ``:t`` bound as a UTC time."""
    statement = text(sql)
    if "t" in params:
        statement = statement.bindparams(bindparam("t", type_=UtcDateTime()))
    return conn.execute(statement, params)


def test_existing_rows_get_the_best_time_there_is_and_new_rows_their_own(empty_database):
    url = empty_database
    upgrade_database(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as db:
        store, _ = seed_demo_store(db)
        eggs = variant_by_sku(db, store, "EGGS-TRAY-OF-30")
        half = variant_by_sku(db, store, "EGGS-HALF-DOZE")  # the same product
        customer = get_or_create_customer(db, store, "+254712345678")
        carts.do_add_to_cart(db, store, customer.id, eggs.id, 1)
        cart_id = carts.get_active_cart(db, store.id, customer.id).id
        ids = {"product": eggs.product_id, "eggs": eggs.id, "half": half.id, "cart": cart_id,
               "customer": customer.id}
    engine.dispose()

    command.downgrade(alembic_config(url), "0005")
    engine = make_engine(url)
    assert "updated_at" not in {c["name"] for c in inspect(engine).get_columns("variants")}
    with engine.begin() as conn:  # the rows as 0005 knew them, at times the test chooses
        _at(conn, "UPDATE products SET updated_at = :t WHERE id = :id", t=T1, id=ids["product"])
        _at(conn, "UPDATE variants SET created_at = :t WHERE id = :id", t=T0, id=ids["eggs"])
        _at(conn, "UPDATE variants SET created_at = :t WHERE id = :id", t=T2, id=ids["half"])
        _at(conn, "UPDATE carts SET updated_at = :t WHERE id = :id", t=T3, id=ids["cart"])
    engine.dispose()

    upgrade_database(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        times = dict(conn.execute(text(
            "SELECT id, updated_at FROM variants WHERE id IN (:eggs, :half)").columns(
            updated_at=UtcDateTime()), ids).all())
        line = conn.execute(text("SELECT updated_at FROM cart_lines WHERE cart_id = :cart")
                            .columns(updated_at=UtcDateTime()), ids).scalar_one()
        unset = conn.execute(text("SELECT count(*) FROM variants WHERE updated_at IS NULL "
                                  "OR updated_at < created_at")).scalar_one()
    # A variant older than its product's last change takes that change's time; one made after
    # it, its own creation. A cart line, its cart's last change.
    assert times == {ids["eggs"]: T1, ids["half"]: T2}
    assert line == T3
    assert unset == 0
    for table in ("variants", "cart_lines"):
        [column] = [c for c in inspect(engine).get_columns(table) if c["name"] == "updated_at"]
        assert column["nullable"] is False, table

    # From now on the application keeps the time: a change moves it.
    with make_session_factory(engine)() as db:
        store, _ = seed_demo_store(db)  # found, not made again
        carts.do_set_quantity(db, store, ids["customer"], ids["eggs"], 2)
        [moved] = carts.get_active_cart(db, store.id, ids["customer"]).lines
        assert moved.updated_at > T3
    engine.dispose()
