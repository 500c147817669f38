"""Timed jobs: relay the outbox, give back expired stock holds, spot abandoned carts.

With Redis, ``flask --app wsgi scheduler`` runs RQ's cron scheduler, which queues each job for
the workers. Without Redis (the demo), the same jobs run in a background thread of the process.
"""
from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from admin.context import services
from commerce import carts, events, inventory
from payments.jobs import reconcile_payments

log = logging.getLogger(__name__)


def relay_events() -> None:
    """Hand outbox events to their handlers (also kicked after every commit that records one)."""
    with services().db() as session:
        events.relay_pending(session)


def release_expired_reservations() -> None:
    with services().db() as session:
        inventory.do_release_expired_reservations(session)


def detect_abandoned_carts() -> None:
    with services().db() as session:
        carts.do_detect_abandoned_carts(session)


# (job, every so many seconds)
SCHEDULE = (
    (release_expired_reservations, 60),
    (detect_abandoned_carts, 300),
    (reconcile_payments, 60),  # asks providers about open payments, expires the stale
    (relay_events, 60),  # catches events whose after-commit kick was lost
)
EXTRA = "duka.schedule"  # app.extensions key: timed jobs of packages admin may not import


def schedule_of(app: Flask) -> tuple:
    """Every timed job: admin's own, and those ``create_app`` adds (a channels job, say)."""
    return SCHEDULE + tuple(app.extensions.get(EXTRA, ()))


def run_due_jobs_once(app: Flask) -> None:
    for job, _every in schedule_of(app):
        with app.app_context():
            try:
                job()
            except Exception:
                log.exception("scheduled job %s failed", job.__name__)


def start_in_process(app: Flask, tick_seconds: int = 60) -> threading.Thread:
    """The embedded default: run every job each tick in a daemon thread."""

    def loop() -> None:
        while True:
            time.sleep(tick_seconds)
            run_due_jobs_once(app)

    thread = threading.Thread(target=loop, name="duka-scheduler", daemon=True)
    thread.start()
    return thread


def run_rq_cron(app: Flask, redis) -> None:
    from rq.cron import CronScheduler

    cron = CronScheduler(connection=redis)
    for job, every in schedule_of(app):
        cron.register(job, queue_name="default", interval=every)
    cron.start()
