"""Flask CLI commands: ``db upgrade``, ``seed-demo``, ``demo``, ``worker``."""
from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from werkzeug.serving import run_simple

from admin import scheduler
from admin.context import services
from commerce.db import upgrade_database
from commerce.errors import DomainError
from commerce.demo import (
    DEMO_SMS_KEYWORD, DEMO_SMS_SHORT_CODE, DEMO_USSD_CODE, demo_store, link_demo_whatsapp,
    seed_demo_store,
)
from payments import context as payments_context
from payments.demo import DemoPaymentsError, configure_demo_payments

db_group = AppGroup("db", help="Database schema (Alembic migrations).")


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply the migrations up to REVISION (default: the latest)."""
    upgrade_database(services().database_url, revision)
    click.echo(f"Database is at {revision}.")


def _seed() -> None:
    with services().db() as db:
        store, created = seed_demo_store(db)
        number_id = current_app.config.get("WHATSAPP_PHONE_NUMBER_ID")
        if number_id:
            link_demo_whatsapp(db, store, number_id)
        click.echo(f"{'Created' if created else 'Found'} demo store {store.name!r} "
                   f"(id {store.id}, USSD {DEMO_USSD_CODE}, SMS {DEMO_SMS_KEYWORD} to "
                   f"{DEMO_SMS_SHORT_CODE}"
                   + (f", WhatsApp number id {number_id}" if number_id else "") + ").")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create the demo store "Mama Mboga Fresh" unless it exists."""
    _seed()


@click.command("demo")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo_command(host: str, port: int) -> None:
    """Migrate, seed the demo store if needed, and serve it."""
    # The demo's merchant webhooks may go to a local receiver over plain http.
    current_app.config.setdefault("WEBHOOKS_ALLOW_INSECURE",
                                  os.environ.get("WEBHOOKS_ALLOW_INSECURE") or "1")
    upgrade_database(services().database_url)
    _seed()
    url = f"http://{host}:{port}"
    payments = payments_context.services()
    if not current_app.config.get("PUBLIC_BASE_URL"):  # the simulator calls back here
        payments.public_url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
    with services().db() as session:
        try:
            paying = configure_demo_payments(session, demo_store(session), payments, os.environ)
        except DemoPaymentsError as problem:
            raise click.ClickException(str(problem)) from problem
    click.echo(f"""
Duka is serving the demo shop at {url}
  Try it from another terminal, as a shopper on a feature phone:
      .venv/bin/flask --app wsgi ussd --url {url}
  or as Africa's Talking would:
      curl -d sessionId=s1 -d serviceCode='{DEMO_USSD_CODE}' -d phoneNumber=+254712345678 \\
           -d networkCode=63902 -d text= {url}/channels/ussd/africastalking
  Health: {url}/healthz   Readiness: {url}/readyz
  As an SMS to short code {DEMO_SMS_SHORT_CODE} (Africa's Talking's inbound callback):
      curl -d from=+254712345678 -d to={DEMO_SMS_SHORT_CODE} -d text='{DEMO_SMS_KEYWORD}' \\
           -d id=demo-1 {url}/channels/sms/africastalking
  SMS (replies, receipts) are written to this log unless AT_USERNAME and AT_API_KEY are set.
  {paying}
""")
    if services().redis is None:
        scheduler.start_in_process(current_app._get_current_object())
    # app.run() refuses to run inside a flask command; serve with Werkzeug directly.
    run_simple(host, port, current_app._get_current_object(), threaded=True)


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst: bool) -> None:
    """Run background jobs from Redis (RQ). Needs REDIS_URL."""
    from rq import SimpleWorker

    redis = services().redis
    if redis is None:
        raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker needed.")
    # SimpleWorker runs jobs in this process: no fork sharing the database pool with a child.
    SimpleWorker(["default"], connection=redis).work(burst=burst, with_scheduler=True)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run every timed job once, now, and stop.")
@with_appcontext
def scheduler_command(once: bool) -> None:
    """Run the timed jobs: stock-hold expiry, abandoned carts, outbox relay."""
    app = current_app._get_current_object()
    if once:
        scheduler.run_due_jobs_once(app)
        click.echo("Ran every timed job once.")
        return
    redis = services().redis
    if redis is None:
        raise click.ClickException("REDIS_URL is not set: `flask --app wsgi demo` runs the "
                                   "timed jobs in process; use --once to run them now.")
    scheduler.run_rq_cron(app, redis)


@click.command("staff-add")
@click.option("--store", "slug", required=True, help="The store's slug, e.g. mama-mboga.")
@click.option("--phone", required=True, help="The staff member's phone number.")
@click.option("--role", type=click.Choice(["owner", "manager", "staff", "viewer"]),
              default="owner", show_default=True)
@click.option("--name", default="")
@with_appcontext
def staff_add_command(slug: str, phone: str, role: str, name: str) -> None:
    """Let a phone sign in to a store's API (a code by SMS): how the first owner gets in."""
    from admin.models import Staff
    from commerce.phones import to_e164
    from commerce.stores import get_store_by_slug

    with services().db() as db:
        store = get_store_by_slug(db, slug)
        if store is None:
            raise click.ClickException(f"No store {slug!r}.")
        try:
            e164 = to_e164(phone, store.country)
        except DomainError as error:
            raise click.ClickException(error.message) from None
        staff = db.scalar(select(Staff).where(Staff.store_id == store.id, Staff.phone == e164))
        if staff is None:
            db.add(Staff(store_id=store.id, phone=e164, name=name, role=role))
        else:
            staff.role, staff.active = role, True
        db.commit()
    click.echo(f"{e164} can sign in to {slug} as {role}: POST /api/v1/auth/code.")


COMMANDS = (db_group, seed_demo_command, demo_command, worker_command, scheduler_command,
            staff_add_command)
