"""The app factory: configuration, blueprints, and the wiring between the packages.

``gunicorn wsgi:app`` serves it; ``flask --app wsgi ...`` runs its commands.
"""
from __future__ import annotations

import logging
import os
from types import SimpleNamespace

from flask import Flask
from flask_cors import CORS
from sqlalchemy import event
from sqlalchemy.orm import Session

import admin.context
import channels.broadcasts
import channels.context
import channels.models
import channels.templates
import payments.context
from admin import cli as admin_cli
from admin.health import bp as health_bp
from admin import api, scheduler
from admin import webhooks as merchant_webhooks
from admin.api.signin import InProcessCodes, RedisCodes
from admin.api.templates_api import CHANNELS as API_MESSAGING
from admin.scheduler import relay_events
from channels import notifications, outbound
from channels.cli import ussd_command
from channels.ratelimit import InProcessRateLimiter, RedisRateLimiter
from channels.reach import whatsapp_config_warnings
from channels.sessions import InProcessSessions, RedisSessions
from channels.sms import AfricasTalkingSms, LoggedSms
from channels.africastalking_sms import bp as sms_africastalking_bp
from channels.broadcasts import resume_broadcasts
from channels.inbound import requeue_stale_messages
from channels.twilio.views import bp as twilio_bp
from channels.ussd import bp as ussd_bp
from channels.whatsapp.views import bp as whatsapp_bp
from commerce import events, storefront
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
    "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_URL", "TWILIO_SMS_FROM",
    "WHATSAPP_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_API_URL",
    "WHATSAPP_PHONE_NUMBER_ID", "MESSAGE_HTTP_TIMEOUT", "AT_CALLBACK_TOKEN",
    "API_REQUESTS_PER_MINUTE", "API_MAX_BODY_BYTES", "CORS_ORIGINS", "WEBHOOKS_ALLOW_INSECURE",
)


def load_config(app: Flask, overrides: dict | None) -> None:
    for name in SETTINGS:
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    app.config.update(overrides or {})
    if not app.config.get("DATABASE_URL"):  # the embedded default: SQLite in the instance folder
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{os.path.join(app.instance_path, 'duka.sqlite3')}"
    # Bodies beyond this are refused (413) before they are read: a CSV import fits, a flood not.
    app.config["MAX_CONTENT_LENGTH"] = int(app.config.get("API_MAX_BODY_BYTES", 2 * 1024 * 1024))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = "dev-only-not-secret-never-use-in-production"
        log.warning("SECRET_KEY is not set; using a development key")


def messaging_senders(config, public_url: str) -> dict:
    """The platform's messaging accounts: a provider whose credentials are absent is off."""
    timeout = float(config.get("MESSAGE_HTTP_TIMEOUT", 10))
    senders: dict = {"log": LoggedSms()}
    sms_provider, sms_from = "log", None
    if config.get("AT_USERNAME") and config.get("AT_API_KEY"):
        senders["africastalking"] = AfricasTalkingSms(
            config["AT_USERNAME"], config["AT_API_KEY"], base_url=config.get("AT_BASE_URL"),
            sender_id=config.get("AT_SENDER_ID"), timeout=timeout)
        sms_provider, sms_from = "africastalking", config.get("AT_SENDER_ID")
    if config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN"):
        from channels.twilio.client import TwilioSender

        senders["twilio"] = TwilioSender(
            config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
            api_url=config.get("TWILIO_API_URL"), timeout=timeout,
            status_callback=public_url.rstrip("/") + "/channels/twilio/status")
        if sms_provider == "log" and config.get("TWILIO_SMS_FROM"):
            sms_provider, sms_from = "twilio", config["TWILIO_SMS_FROM"]
    for warning in whatsapp_config_warnings(config):  # on or off, never silently half on
        log.warning(warning)
    if str(config.get("WHATSAPP_TOKEN") or "").strip():
        from channels.whatsapp.sender import CloudApiSender

        senders["whatsapp"] = CloudApiSender(
            config["WHATSAPP_TOKEN"],
            config.get("WHATSAPP_API_URL") or "https://graph.facebook.com/v21.0", timeout)
    return {"senders": senders, "sms_provider": sms_provider, "sms_from": sms_from}


JOBS = "duka.jobs"  # Session.info key: the job queue of the app the session belongs to


# Events recorded in a transaction are relayed by a job once that transaction commits; messages
# recorded in it are sent by a job per recipient.
@event.listens_for(Session, "after_commit")
def _relay_after_commit(session: Session) -> None:
    jobs = session.info.get(JOBS)
    if jobs is None or session.in_nested_transaction():  # a savepoint: the real commit comes later
        return
    try:
        if session.info.pop(events.RECORDED, False):
            jobs.enqueue(relay_events)
        for message_ids in outbound.take_committed(session):  # one job per recipient
            jobs.enqueue(outbound.deliver_message, *message_ids, retries=outbound.SEND_RETRIES)
    except Exception:  # e.g. Redis down: the scheduler's relay and resend pick them up
        log.exception("could not queue the event relay or a message")


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

    public_url = app.config.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    app.extensions["duka.db"] = db
    app.extensions["duka.engine"] = engine
    channels.context.init_app(app, channels.context.ChannelServices(
        db, jobs, sessions, **messaging_senders(app.config, public_url), public_url=public_url,
        whatsapp_app_secret=app.config.get("WHATSAPP_APP_SECRET"),
        whatsapp_verify_token=app.config.get("WHATSAPP_VERIFY_TOKEN"),
        twilio_auth_token=app.config.get("TWILIO_AUTH_TOKEN"),
        ratelimit=ratelimit, ussd_hops_per_minute=hops_per_minute))
    admin.context.init_app(app, admin.context.AdminServices(
        db, app.config["DATABASE_URL"], redis, ratelimit=ratelimit,
        codes=RedisCodes(redis) if redis is not None else InProcessCodes(),
        send_sms=notifications.send_text_now,
        api_requests_per_minute=int(app.config.get("API_REQUESTS_PER_MINUTE", 600))))
    load_providers()
    payments.context.init_app(app, payments.context.PaymentServices(
        db, jobs, SecretBox(app.config.get("DUKA_ENCRYPTION_KEY")),
        public_url=public_url,
        base_urls={name: app.config[f"{name.upper()}_BASE_URL"]
                   for name in payments.context.DEFAULT_BASE_URLS
                   if app.config.get(f"{name.upper()}_BASE_URL")},
        tokens=RedisTokens(redis) if redis is not None else InProcessTokens(),
        timeout=float(app.config.get("PAYMENT_HTTP_TIMEOUT", 10))))

    # Each session carries its app's job queue, for the after-commit hooks below (module
    # level, so an app a test throws away is not kept alive by a listener).
    # And the storefronts the app keeps (commerce.storefront), told of changes after commit.
    versions = storefront.RedisVersions(redis) if redis is not None \
        else storefront.InProcessVersions()
    db.configure(info={JOBS: jobs, storefront.KEY: storefront.Storefronts(versions)})

    events.subscribe(events.PAYMENT_REQUESTED, payment_jobs.on_payment_requested)
    events.subscribe(events.ORDER_PLACED, notifications.on_event)  # receipt + merchant's SMS
    events.subscribe(events.PAYMENT_COMPLETED, notifications.on_event)
    events.subscribe(events.PAYMENT_FAILED, notifications.on_event)
    events.subscribe(events.PAYMENT_ACTION_REQUIRED, notifications.on_event)  # the pay link
    events.subscribe(events.DRAFT_ORDER_SENT, notifications.on_event)  # a merchant's draft
    events.subscribe(events.ORDER_SHIPPED, notifications.on_event)
    events.subscribe(events.ORDER_READY_FOR_PICKUP, notifications.on_event)
    events.subscribe(events.ORDER_DELIVERED, notifications.on_event)
    events.subscribe(events.ORDER_REFUNDED, notifications.on_event)
    events.subscribe(events.CART_ABANDONED, notifications.on_event)  # with consent, once
    events.subscribe(events.INVENTORY_LOW_STOCK, notifications.on_event)  # to the merchant
    events.subscribe(events.ORDER_OVERPAID, notifications.on_event)  # to the merchant: refund
    for name in merchant_webhooks.EVENT_NAMES:  # merchants' own webhook subscriptions
        events.subscribe(name, merchant_webhooks.on_event)

    app.extensions[scheduler.EXTRA] = (
        (resume_broadcasts, 60),  # a broadcast's worker died
        (requeue_stale_messages, 60),  # an inbound message's job was lost (Redis down)
        (outbound.resend_stuck, 60),  # an outbound message's job or worker was lost
    )
    # The merchant API's message templates and broadcasts are the channels' (admin may not
    # import channels): handed in, like the timed jobs above.
    app.extensions[API_MESSAGING] = SimpleNamespace(
        templates=channels.templates, broadcasts=channels.broadcasts, models=channels.models)

    app.register_blueprint(health_bp)
    api.init_app(app)
    if app.config.get("CORS_ORIGINS"):  # the merchant's web or mobile app on another origin
        CORS(app, resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"].split(",")}},
             expose_headers=["ETag", "Retry-After", "Idempotent-Replayed"])
    app.register_blueprint(ussd_bp)
    app.register_blueprint(sms_africastalking_bp)
    app.register_blueprint(twilio_bp)
    app.register_blueprint(whatsapp_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(mpesa_c2b_bp)
    app.register_blueprint(simulated_mpesa_bp)  # answers only on a demo server
    for command in (*admin_cli.COMMANDS, ussd_command):
        app.cli.add_command(command)
    return app


app = create_app()
