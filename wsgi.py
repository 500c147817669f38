"""The app factory: configuration, blueprints, and the wiring between the packages.

``gunicorn wsgi:app`` serves it; ``flask --app wsgi ...`` runs its commands.
"""
from __future__ import annotations

import logging
import os

from flask import Flask
from sqlalchemy import event

import admin.context
import channels.context
import payments.context
from admin import cli as admin_cli
from admin.health import bp as health_bp
from admin.scheduler import relay_events
from channels import notifications
from channels.cli import ussd_command
from channels.ratelimit import InProcessRateLimiter, RedisRateLimiter
from channels.sessions import InProcessSessions, RedisSessions
from channels.sms import AfricasTalkingSms, LoggedSms
from channels.ussd import bp as ussd_bp
from commerce import events
from commerce.db import make_engine, make_session_factory
from commerce.jobs import InlineJobs, RqJobs
from payments import jobs as payment_jobs
from payments.mpesa_c2b import bp as mpesa_c2b_bp
from payments.mpesa_simulator import bp as simulated_mpesa_bp
from payments.registry import load_providers
from payments.secrets import SecretBox
from payments.tokens import InProcessTokens, RedisTokens
from payments.views import bp as payments_bp

log = logging.getLogger("duka")

SETTINGS = (
    "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "AT_USERNAME", "AT_API_KEY", "AT_BASE_URL",
    "AT_SENDER_ID", "JOB_RETRY_INTERVALS", "USSD_HOPS_PER_MINUTE",
    "DUKA_ENCRYPTION_KEY", "PUBLIC_BASE_URL", "PAYMENT_HTTP_TIMEOUT",
    "MPESA_BASE_URL", "MOMO_BASE_URL", "PAYSTACK_BASE_URL", "FLUTTERWAVE_BASE_URL",
)


def load_config(app: Flask, overrides: dict | None) -> None:
    for name in SETTINGS:
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    app.config.update(overrides or {})
    if not app.config.get("DATABASE_URL"):  # the embedded default: SQLite in the instance folder
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{os.path.join(app.instance_path, 'duka.sqlite3')}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = "dev-only-not-secret"
        log.warning("SECRET_KEY is not set; using a development key")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    load_config(app, config)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)  # it logs every state change
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    engine = make_engine(app.config["DATABASE_URL"])
    db = make_session_factory(engine)

    redis = None
    if app.config.get("REDIS_URL"):
        from redis import Redis

        redis = Redis.from_url(app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=2)
        retry_setting = str(app.config.get("JOB_RETRY_INTERVALS", "10,60,300"))
        intervals = [int(seconds) for seconds in retry_setting.split(",")]
        jobs = RqJobs(redis, retry_intervals=intervals)
        sessions, ratelimit = RedisSessions(redis), RedisRateLimiter(redis)
    else:
        jobs, sessions = InlineJobs(context=app.app_context), InProcessSessions()
        ratelimit = InProcessRateLimiter()
    hops_per_minute = int(app.config.get("USSD_HOPS_PER_MINUTE", 60))
    if hops_per_minute < 1:
        raise ValueError("USSD_HOPS_PER_MINUTE must be a whole number of at least 1")

    if app.config.get("AT_USERNAME") and app.config.get("AT_API_KEY"):
        sms = AfricasTalkingSms(app.config["AT_USERNAME"], app.config["AT_API_KEY"],
                                base_url=app.config.get("AT_BASE_URL"),
                                sender_id=app.config.get("AT_SENDER_ID"))
    else:
        sms = LoggedSms()

    app.extensions["duka.db"] = db
    app.extensions["duka.engine"] = engine
    channels.context.init_app(app, channels.context.ChannelServices(
        db, jobs, sessions, sms, ratelimit=ratelimit, ussd_hops_per_minute=hops_per_minute))
    admin.context.init_app(app, admin.context.AdminServices(db, app.config["DATABASE_URL"], redis))
    load_providers()
    payments.context.init_app(app, payments.context.PaymentServices(
        db, jobs, SecretBox(app.config.get("DUKA_ENCRYPTION_KEY")),
        public_url=app.config.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        base_urls={name: app.config[f"{name.upper()}_BASE_URL"]
                   for name in payments.context.DEFAULT_BASE_URLS
                   if app.config.get(f"{name.upper()}_BASE_URL")},
        tokens=RedisTokens(redis) if redis is not None else InProcessTokens(),
        timeout=float(app.config.get("PAYMENT_HTTP_TIMEOUT", 10))))

    # Events recorded in a transaction are relayed by a job once that transaction commits.
    @event.listens_for(db, "after_commit")
    def _relay_after_commit(session):
        if session.info.pop("outbox_dirty", False):
            try:
                jobs.enqueue(relay_events)
            except Exception:  # e.g. Redis down: the events wait in the outbox for the next relay
                log.exception("could not queue the event relay")

    events.subscribe(events.ORDER_PLACED, notifications.on_order_placed)
    events.subscribe(events.PAYMENT_REQUESTED, payment_jobs.on_payment_requested)
    events.subscribe(events.PAYMENT_COMPLETED, notifications.on_payment_completed)
    events.subscribe(events.PAYMENT_FAILED, notifications.on_payment_failed)
    events.subscribe(events.PAYMENT_ACTION_REQUIRED, notifications.on_payment_link)

    app.register_blueprint(health_bp)
    app.register_blueprint(ussd_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(mpesa_c2b_bp)
    app.register_blueprint(simulated_mpesa_bp)  # answers only on a demo server
    for command in (*admin_cli.COMMANDS, ussd_command):
        app.cli.add_command(command)
    return app


app = create_app()
