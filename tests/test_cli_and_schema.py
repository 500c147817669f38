"""The commands a newcomer and an operator run, and the schema the migrations build."""
import os
import runpy
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
from alembic import command
from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.orm import Session

from commerce.db import alembic_config, upgrade_database
from commerce.demo import seed_demo_store
from commerce.models import Category, Product, Stock, Variant

ROOT = Path(__file__).resolve().parent.parent


def test_the_migrations_build_exactly_the_models(database_url):
    command.check(alembic_config(database_url))  # raises if a model change lacks a migration


def test_db_upgrade_builds_the_schema_on_a_fresh_database(make_app, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = make_app(DATABASE_URL=url).test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"stores", "products", "variants", "customers", "carts", "orders",
            "outbox_events", "alembic_version"} <= tables


def test_seed_demo_creates_mama_mboga_fresh_once(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    again = runner.invoke(args=["seed-demo"])

    assert "Created demo store 'Mama Mboga Fresh'" in first.output
    assert "Found demo store 'Mama Mboga Fresh'" in again.output
    assert db.scalar(select(func.count(Category.id))) == 5
    assert db.scalar(select(func.count(Product.id))) == 31
    stocks = db.scalars(select(Stock.quantity)).all()
    assert 0 in stocks and any(0 < s <= 5 for s in stocks)  # sold out and low-stock items
    sized = db.scalar(select(func.count()).select_from(
        select(Variant.product_id).group_by(Variant.product_id)
        .having(func.count(Variant.id) > 1).subquery()))
    assert sized >= 5


def test_the_demo_store_answers_on_the_whatsapp_number_id_when_set(make_app, db):
    from commerce.stores import resolve_sms, resolve_whatsapp

    app = make_app(WHATSAPP_PHONE_NUMBER_ID="106540352242922")
    output = app.test_cli_runner().invoke(args=["seed-demo"]).output
    assert "SMS MBOGA to 22384, WhatsApp number id 106540352242922" in output
    assert resolve_whatsapp(db, "106540352242922").name == "Mama Mboga Fresh"
    store, rest = resolve_sms(db, "22384", "mboga cart")
    assert (store.name, rest) == ("Mama Mboga Fresh", "cart")


def test_the_worker_command_explains_itself_without_redis(make_app):
    result = make_app(REDIS_URL="").test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set: jobs run inline, no worker needed." in result.output


@contextmanager
def running(python_args: list[str], env: dict):
    """A server process started from the project's root, stopped after the block; the list it
    yields gets the server's output once it has stopped."""
    server = subprocess.Popen([sys.executable, *python_args], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    try:
        yield output
    finally:
        server.terminate()
        output.append(server.communicate(timeout=10)[0])


def free_port() -> int:
    """A port nothing listens on now. Not one derived from the pid: 6000 + pid % 1000 was
    once 6379, Redis's, which dropped the dial as an attack."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dial_when_up(url: str, text: str) -> str:
    """Wait (up to 10 s) for a server starting at ``url``, then dial the demo store's code."""
    for _ in range(100):
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return httpx.post(f"{url}/channels/ussd/africastalking", data={
        "sessionId": "started", "serviceCode": "*384*123#", "phoneNumber": "+254712345678",
        "networkCode": "63902", "text": text}).text


def test_flask_demo_migrates_seeds_and_serves(tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "REDIS_URL": "", "AT_USERNAME": "", "AT_API_KEY": ""}
    with running(["-m", "flask", "--app", "wsgi", "demo", "--port", str(port)], env) as output:
        screen = dial_when_up(f"http://127.0.0.1:{port}", "")
        assert screen.startswith("CON Karibu Mama Mboga Fresh!\n1. Vegetables\n")
    assert "Duka is serving the demo shop at" in output[0]
    assert "flask --app wsgi ussd" in output[0]


def test_gunicorn_serves_the_app_with_the_projects_settings(tmp_path):
    """The production command from the README: ``gunicorn -c gunicorn.conf.py wsgi:app``."""
    url = f"sqlite:///{tmp_path / 'web.sqlite3'}"
    upgrade_database(url)
    engine = create_engine(url)
    with Session(engine) as session:
        seed_demo_store(session)
    engine.dispose()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": "", "AT_USERNAME": "",
           "AT_API_KEY": "", "WEB_CONCURRENCY": "1", "DUKA_BIND": f"127.0.0.1:{port}"}
    with running(["-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], env):
        screen = dial_when_up(f"http://127.0.0.1:{port}", "1")
        assert screen.startswith("CON Choose a product:\n1. Cabbage KSh 60\n")


def test_gunicorn_runs_two_workers_per_core_and_one_more_with_two_threads_each(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("DUKA_THREADS", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cores = len(os.sched_getaffinity(0))
    assert (settings["worker_class"], settings["workers"], settings["threads"]) == \
        ("gthread", 2 * cores + 1, 2)
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("DUKA_THREADS", "4")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (settings["workers"], settings["threads"]) == (3, 4)


def test_gunicorn_without_redis_runs_one_worker_and_warns_when_told_to_run_more(monkeypatch):
    """In-process USSD sessions only work if every hop comes back to the same process."""
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["workers"] == 1
    warnings = []
    server = SimpleNamespace(cfg=SimpleNamespace(workers=1),
                             log=SimpleNamespace(warning=lambda *args: warnings.append(args)))
    settings["on_starting"](server)
    assert warnings == []
    server.cfg.workers = 3
    settings["on_starting"](server)
    assert len(warnings) == 1 and "no REDIS_URL" in warnings[0][0] and warnings[0][1] == 3


def test_gunicorn_workers_switch_threads_often(monkeypatch):
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    monkeypatch.setattr(sys, "setswitchinterval", lambda seconds: switched.append(seconds))
    switched = []
    settings["post_fork"](None, None)
    assert switched == [0.0005]


def test_gunicorn_workers_keep_what_they_loaded_out_of_garbage_collections(tmp_path):
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    code = ("import gc, runpy, sys; sys.path.insert(0, '.'); import wsgi; "
            f"runpy.run_path({str(ROOT / 'gunicorn.conf.py')!r})['post_worker_init'](None); "
            "print(gc.get_freeze_count())")
    assert "post_worker_init" in settings
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'duka.sqlite3'}"}
    frozen = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    assert int(frozen.stdout.split()[-1]) > 100_000  # the app and its libraries

