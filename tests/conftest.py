"""Test fixtures. The suite runs on the embedded default (SQLite, no Redis) unless
TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL point at throwaway services, which it wipes.
"""
from __future__ import annotations

import gc
import os
import threading

import pytest
from rq import SimpleWorker
from sqlalchemy import text
from werkzeug.routing.rules import Rule
from werkzeug.serving import make_server

from commerce.db import Base, make_engine, upgrade_database
from commerce.demo import seed_demo_store
from tests.fakes.africastalking import FakeAfricasTalking
from wsgi import create_app

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
TEST_ENCRYPTION_KEY = "Jm4hYlI5sEPgRgMUiZ2b7Ihxa3wXo6c1xqpTnSDJKUE="  # Fernet; tests only


def pytest_sessionstart(session):
    # What is imported stays; collect young objects less often. The suite builds hundreds of
    # thousands of short-lived ORM objects per minute: ~10% less CPU, the same tests.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)


def _remember_url_builders() -> None:
    """Build each route's URL builder once per test run, not once per app.

    Werkzeug compiles two Python functions per route when an app registers it: ~0.1 s for our
    ~130 routes, paid by every ``create_app`` (the suite builds well over a thousand apps). The
    builder depends only on the rule, its defaults and whether unknown arguments are appended,
    so the same one serves every app. Production builds its app once and keeps werkzeug as is.
    """
    compile_builder = Rule._compile_builder
    built: dict = {}

    def remembered(rule: Rule, append_unknown: bool = True):
        key = (rule.rule, rule.host, rule.subdomain, tuple(rule._trace),
               repr(sorted((rule.defaults or {}).items())), append_unknown)
        if key not in built:
            built[key] = compile_builder(rule, append_unknown)
        return built[key]

    Rule._compile_builder = remembered


_remember_url_builders()


def pytest_report_header(config):
    return [f"duka database: {'PostgreSQL' if TEST_DATABASE_URL else 'SQLite (embedded)'}; "
            f"redis: {'yes, jobs via RQ' if TEST_REDIS_URL else 'no, inline jobs'}"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A database with the schema built by running the migrations."""
    if TEST_DATABASE_URL:
        engine = make_engine(TEST_DATABASE_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        url = TEST_DATABASE_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'duka-test.sqlite3'}"
    upgrade_database(url)
    return url


@pytest.fixture(scope="session")
def fake_at():
    fake = FakeAfricasTalking().start()
    yield fake
    fake.stop()


@pytest.fixture
def make_app(database_url, fake_at):
    """Build an app on the test database with the given settings; tables are emptied after."""
    made = []

    def make(**overrides):
        fake_at.reset()
        config = {
            "TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": TEST_REDIS_URL,
            "AT_USERNAME": fake_at.username, "AT_API_KEY": fake_at.api_key,
            "AT_BASE_URL": fake_at.url, "JOB_RETRY_INTERVALS": "0",
            "SECRET_KEY": "test-secret-key-of-at-least-32-bytes",
            "DUKA_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
            **overrides,
        }
        app = create_app(config)
        if config["REDIS_URL"] and config["REDIS_URL"] == TEST_REDIS_URL:
            app.extensions["duka.admin"].redis.flushdb()
        made.append(app)
        return app

    yield make
    for app in made:
        if app.config["DATABASE_URL"] == database_url:  # not a deliberately broken one
            _empty_tables(app)
        app.extensions["duka.engine"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


def _empty_tables(app) -> None:
    engine = app.extensions["duka.engine"]
    # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE of ~50 tables costs
    # ~0.3 s of file syncing per test on PostgreSQL, DELETE a few milliseconds.
    deletes = [f"DELETE FROM {table.name}" for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name != "postgresql":
            for statement in deletes:
                conn.exec_driver_sql(statement)
            return
        # One round trip (psycopg runs a parameterless script whole), and ids from 1 again,
        # as TRUNCATE's RESTART IDENTITY did.
        conn.exec_driver_sql(";".join(deletes) + ";" + (
            "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = current_schema()"))


@pytest.fixture
def db(app):
    with app.extensions["duka.db"]() as session:
        yield session


@pytest.fixture
def store(db):
    store, _ = seed_demo_store(db)
    return store


class _BurstWorker(SimpleWorker):
    """RQ's worker, in this process, without the pub/sub listener for remote commands (stop a
    job, shut down): nobody sends those in a test, and starting and joining the listener's
    thread cost ~0.35 s per burst, most of the PostgreSQL run's time."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


@pytest.fixture
def run_jobs(app):
    """Drain the job queue the way ``flask --app wsgi worker`` does (inline jobs already ran)."""

    def run() -> None:
        redis = app.extensions["duka.admin"].redis
        if redis is None:
            return
        with app.app_context():
            _BurstWorker(["default"], connection=redis).work(burst=True,
                                                             logging_level="WARNING")

    return run


@pytest.fixture
def live_server(app):
    """The app on a real HTTP port, as Africa's Talking would reach it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll: shutdown() waits up to one poll, and many tests start a server.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
