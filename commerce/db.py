"""Database plumbing: the declarative base, engines and session factories."""
from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import DateTime, MetaData, create_engine, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC in and out, on PostgreSQL and on SQLite (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use commerce.db.utcnow()")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


@contextmanager
def committing(session) -> Iterator[None]:
    """Commit what the block changed, or roll all of it back if anything in it failed.

    The shape of every ``do_*`` service: a refusal (``DomainError``) changes nothing.
    """
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


_MEMO = "duka.transaction_memo"  # Session.info key: see for_transaction


def for_transaction(session: Session, key: tuple, load):
    """``load()``, called once per database transaction of ``session`` for each ``key``.

    Several readers in one transaction ask for the same rows (the active cart, a variant's
    stock); within it the answer is the same, and every ``do_*`` service ends the transaction
    (commit or rollback), after which the rows are read afresh.
    """
    memo = session.info.setdefault(_MEMO, {})
    if key not in memo:
        memo[key] = load()
    return memo[key]


def remembered(session: Session, key: tuple):
    """What ``for_transaction`` holds for ``key`` in this transaction, or None; loads nothing."""
    return session.info.get(_MEMO, {}).get(key)


def remember_for_transaction(session: Session, key: tuple, value) -> None:
    """``value`` is what ``for_transaction`` gives for ``key`` until the transaction ends (or,
    called just after a commit, for the next one: a service hands on the row it saved)."""
    session.info.setdefault(_MEMO, {})[key] = value


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, *_) -> None:
    session.info.pop(_MEMO, None)  # the transaction that read them is over


_TRANSACTION_KEYS: set[str] = set()  # see transaction_scoped


def transaction_scoped(key: str) -> str:
    """Declare ``key`` a ``Session.info`` key that lives as long as the database transaction:
    it is dropped when the transaction ends (after ``after_commit`` listeners have used it, on
    rollback, or on close), but not when a savepoint inside it rolls back, since what the
    transaction noted before the savepoint still commits. Returns ``key``."""
    _TRANSACTION_KEYS.add(key)
    return key


@event.listens_for(Session, "after_transaction_end")
def _end_of_transaction(session: Session, transaction) -> None:
    if transaction.parent is None:  # the database transaction, not a savepoint
        for key in _TRANSACTION_KEYS:
            session.info.pop(key, None)


def insert_for(session: Session, model):
    """``insert(model)`` in the dialect of the session's database, which has
    ``on_conflict_do_nothing`` (PostgreSQL and SQLite spell it the same way)."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


def normalise_url(url: str) -> str:
    """Accept the usual ``postgres://`` / ``postgresql://`` URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cur.close()

        @event.listens_for(engine, "savepoint")
        def _begin_before_savepoint(conn, _name):
            # Python's sqlite3 sends BEGIN before the first INSERT/UPDATE/DELETE, not before a
            # SAVEPOINT; a SAVEPOINT outside a transaction starts one of its own, and its
            # RELEASE commits it, whatever the session does next. Begin the real one first.
            if not conn.connection.dbapi_connection.in_transaction:
                conn.exec_driver_sql("BEGIN")

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


# A connection handed back less than this long ago was working then, so it is used without a
# ping; one idle for longer is pinged first (pool_pre_ping would ping every time: a round trip
# more on every USSD hop). If the database restarts meanwhile, the first statement on a recent
# connection fails, and SQLAlchemy then replaces every connection of the pool: the process
# shows its error screen once, not on every connection in turn.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _handed_back(_dbapi_conn, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_conn, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")  # none yet: connected just now
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:  # the pool drops this connection and connects again
            raise exc.DisconnectionError(f"idle connection is gone: {error}") from error


# -- ending a transaction that only read ----------------------------------------------------------
# psycopg keeps a connection's statements prepared (parsed and planned once, by the server), but
# forgets every one of them on ROLLBACK, which is how a Session ends a transaction it was not told
# to commit: a USSD hop that only shows a menu. The database then planned each statement of
# nearly every hop again. For a transaction that only read, COMMIT and ROLLBACK do the same, so
# sessions end those with COMMIT. Measured with bench/ussd_load.py flat out: PostgreSQL's and
# Redis's CPU per hop 1.69 -> 1.0 ms (see the README's Benchmarks).
_WROTE = "duka.wrote"  # Connection.info: this transaction sent more than SELECTs, or failed
_CONNECTIONS = transaction_scoped("duka.connections")  # the connections of its transaction
_WATCHED: weakref.WeakSet = weakref.WeakSet()  # engines whose writes are noted (_watch_writes)


class DukaSession(Session):
    """A Session whose ``with`` block, ending normally, ends a transaction that only read with
    COMMIT rather than ROLLBACK (see above). Anything else is as ever: a transaction that wrote
    and was not committed is rolled back, and so is every transaction of a block that raised."""

    def __exit__(self, type_, value, traceback) -> None:
        try:
            if type_ is None and self._only_read():
                self.commit()
        finally:
            super().__exit__(type_, value, traceback)

    def _only_read(self) -> bool:
        connections = self.info.get(_CONNECTIONS)
        return bool(connections) and not (self.new or self.dirty or self.deleted) and all(
            connection.engine in _WATCHED and not connection.closed
            and not connection.invalidated and not connection.info.get(_WROTE)
            for connection in connections)


@event.listens_for(DukaSession, "after_begin")
def _note_connection(session: Session, _transaction, connection) -> None:
    session.info.setdefault(_CONNECTIONS, []).append(connection)


def _note_statement(conn, _cursor, statement: str, _parameters, _context, _many) -> None:
    if statement[:6].lower() != "select":  # INSERT, UPDATE, DELETE, SAVEPOINT, text(...)
        conn.info[_WROTE] = True


def _note_failure(context) -> None:
    connection = context.connection
    if connection is not None and not connection.invalidated:
        connection.info[_WROTE] = True  # ends as it would have: ROLLBACK


def _transaction_over(conn) -> None:
    # Every end of a transaction on a Connection comes here (a Session's close too); should a
    # flag outlive one anyway, the next transaction only ends with ROLLBACK, as before.
    if not conn.invalidated:  # an invalidated one has no info left (the pool dropped it)
        conn.info.pop(_WROTE, None)


def _watch_writes(engine: Engine) -> None:
    if engine in _WATCHED:
        return
    event.listen(engine, "before_cursor_execute", _note_statement)
    event.listen(engine, "handle_error", _note_failure)
    event.listen(engine, "commit", _transaction_over)
    event.listen(engine, "rollback", _transaction_over)
    _WATCHED.add(engine)


def make_session_factory(engine: Engine) -> sessionmaker:
    _watch_writes(engine)  # what DukaSession relies on, with whatever engine it is given
    return sessionmaker(bind=engine, expire_on_commit=False, class_=DukaSession)


MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = normalise_url(url)
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` by running the Alembic migrations."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
