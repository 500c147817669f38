"""Payment work done in the background: asking the provider, reconciling, giving up.

``initiate_payment`` runs as a job after ``payment.requested`` (so a USSD session has ended
before the phone shows the M-Pesa prompt, and a slow provider never holds a web request).
``reconcile_payments`` runs every minute (``admin.scheduler``): it asks providers about
payments that are still open, expires those past their time, and cancels orders that were
never paid, putting their stock back — so a callback that never comes does no harm.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from commerce import order_flow
from commerce.db import utcnow
from commerce.errors import DomainError
from commerce.jobs import is_last_attempt
from commerce.models import Order, OutboxEvent, Payment, PaymentGateway, Store
from payments import service
from payments.base import (
    CREATED, EXPIRED, FAILED, PENDING, GatewayConfig, Outcome, ProviderEnv, ProviderUnavailable,
)
from payments.context import PaymentServices, services
from payments.gateways import config_for, get_gateway
from payments.registry import get_provider

log = logging.getLogger(__name__)

INITIATE_RETRIES = 3  # with the job queue's backoff (JOB_RETRY_INTERVALS)
GIVE_UP_CREATED_MINUTES = 10  # a provider that never accepted the request by then: failed
# A payment past its time is expired only once the provider says how it stands, or has said
# nothing for this long: a shopper told "try again" may have paid already, and would pay twice.
SILENT_PROVIDER_MINUTES = 60


def on_payment_requested(event: OutboxEvent) -> None:
    services().jobs.enqueue(initiate_payment, event.payload["payment_id"],
                            retries=INITIATE_RETRIES)


def provider_call(ctx: PaymentServices, row: PaymentGateway) -> tuple[ProviderEnv, GatewayConfig]:
    """Where to send this gateway's calls: the provider, or the demo's simulated Daraja."""
    config = config_for(row, ctx.secrets, ctx.public_url)
    if not row.simulated:
        return ctx.env(row.provider), config
    from payments import mpesa_simulator  # the demo only

    env = ctx.env(row.provider)
    env = ProviderEnv(base_url=mpesa_simulator.base_url(ctx.public_url),
                      http=ctx.client_for(mpesa_simulator.base_url(ctx.public_url)),
                      tokens=env.tokens)
    return env, replace(config, settings=mpesa_simulator.SETTINGS,
                        secrets=mpesa_simulator.SECRETS)


def _usable_gateway(ctx: PaymentServices, session, payment: Payment) -> PaymentGateway | None:
    row = get_gateway(session, payment.store_id, payment.method)
    if row is None or not row.enabled or (row.simulated and not ctx.allow_simulated):
        return None
    return row


def initiate_payment(payment_id: int) -> None:
    ctx = services()
    with ctx.db() as session:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.status != CREATED:
            return
        row = _usable_gateway(ctx, session, payment)
        if row is None:
            service.do_apply_outcome(session, payment.id, Outcome(
                "", FAILED, reason="This shop no longer takes this way of paying."))
            return
        env, config = provider_call(ctx, row)
        service.do_initiate(session, payment.id, get_provider(row.provider), env, config,
                            last_try=is_last_attempt())


def reconcile_payments() -> None:
    ctx = services()
    with ctx.db() as session:
        for payment in service.open_payments_due(session):
            try:
                reconcile_one(ctx, session, payment.id)
            except Exception:  # one provider's trouble must not stop the others
                session.rollback()
                log.exception("reconciling payment %s failed", payment.id)
        cancel_unpaid_orders(session)


def reconcile_one(ctx: PaymentServices, session, payment_id: int) -> str:
    payment = session.get(Payment, payment_id)
    now = utcnow()
    if payment.status == CREATED:
        if payment.created_at <= now - timedelta(minutes=GIVE_UP_CREATED_MINUTES):
            return service.do_apply_outcome(session, payment.id, Outcome(
                "", FAILED, reason=service.NO_ANSWER))
        return "waiting"
    row = _usable_gateway(ctx, session, payment)
    outcome, unanswered = None, False
    if row is not None and payment.provider_reference:
        env, config = provider_call(ctx, row)
        charge = service.charge_for(session, payment)
        session.rollback()  # no transaction held while the provider answers
        try:
            outcome = get_provider(row.provider).query(env, config,
                                                       payment.provider_reference, charge)
        except ProviderUnavailable as error:
            log.warning("payment %s: status query failed: %s", payment_id, error)
            unanswered = True
        payment = session.get(Payment, payment_id)
    if outcome is not None and outcome.status != PENDING:
        return service.do_apply_outcome(session, payment.id, replace(outcome, dedup_key=""),
                                        actor="reconciliation")
    if unanswered and payment.expires_at is not None and \
            payment.expires_at > now - timedelta(minutes=SILENT_PROVIDER_MINUTES):
        return "waiting"
    if payment.expires_at is not None and payment.expires_at <= now:
        return service.do_apply_outcome(session, payment.id, Outcome(
            payment.provider_reference or "", EXPIRED,
            reason="No answer came from your phone in time."), actor="reconciliation")
    return "waiting"


def cancel_unpaid_orders(session) -> int:
    """Cancel online-payment orders whose last attempt ended and whose hold time has passed;
    their stock goes back on the shelf. Cash-on-delivery orders wait for the rider."""
    cancelled = 0
    candidates = session.execute(
        select(Order.id, Order.store_id, Order.created_at)
        .where(Order.status == "pending_payment", Order.payment_method != "cod",
               Order.financial_status == "pending")
        .order_by(Order.id).limit(200)).all()
    now = utcnow()
    for order_id, store_id, created_at in candidates:
        store = session.get(Store, store_id)
        if created_at > now - timedelta(minutes=store.reservation_minutes):
            continue
        if service.open_payment(session, store_id, order_id) is not None:
            continue
        try:
            order_flow.do_transition_order(session, store, order_id, "cancel", "system",
                                           "not paid in time")
            cancelled += 1
        except DomainError as error:
            log.info("order %s not cancelled: %s", order_id, error.message)
    return cancelled
