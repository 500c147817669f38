"""Taking money for an order, exactly once.

``do_request_payment`` opens one payment per order at a time (no double prompt) and records
``payment.requested``; a job then asks the provider (``initiate``). Callbacks and status queries
become ``Outcome``s, and ``do_apply_outcome`` applies each one at most once: a callback's key is
inserted under a unique constraint in the same transaction as the change it makes, and a
payment only moves as ``payments.state`` allows. The order's financial status follows
(``commerce.order_payments.refresh_financial_status``).
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce import events, order_flow
from commerce.db import committing, utcnow
from commerce.errors import N_, DomainError, NotFound
from commerce.models import Order, Payment, PaymentCallback, Store
from commerce.money import Money
from commerce.order_payments import (
    note_money_not_owed, paid_total, refresh_financial_status,
)
from payments import state
from payments.base import (
    CREATED, EXPIRED, FAILED, LINK, PENDING, SUCCEEDED, Charge, GatewayConfig, Initiated,
    Outcome, Provider, ProviderEnv, ProviderRefused, ProviderUnavailable,
)
from payments.gateways import get_gateway, offered_methods

log = logging.getLogger(__name__)

NO_ANSWER = N_("The payment service did not answer. Please try again.")


class PaymentMethodUnavailable(DomainError):
    code = "payment_method_unavailable"


class OrderNotPayable(DomainError):
    code = "order_not_payable"


class PaymentInProgress(DomainError):
    code = "payment_in_progress"


# -- asking for money ---------------------------------------------------------------------------
def open_payment(session: Session, store_id: int, order_id: int) -> Payment | None:
    return session.scalar(select(Payment).where(
        Payment.store_id == store_id, Payment.order_id == order_id,
        Payment.status.in_((CREATED, PENDING))).order_by(Payment.id.desc()).limit(1))


def check_payable(session: Session, store: Store, order: Order) -> int:
    """What is still owed on ``order`` (minor units); raises ``OrderNotPayable``."""
    if order.status in ("draft", "cancelled") or order.financial_status != "pending":
        raise OrderNotPayable(N_("Order #{number} has nothing left to pay."),
                              values={"number": order.number})
    owed = order.total - paid_total(session, store.id, order.id)
    if owed <= 0:
        raise OrderNotPayable(N_("Order #{number} is already paid."),
                              values={"number": order.number})
    return owed


def do_request_payment(session: Session, store: Store, order_id: int, method: str,
                       phone: str | None = None, allow_simulated: bool = False) -> Payment:
    """Open a payment of what the order still owes; commits and records ``payment.requested``.

    One open payment per order: asking again while one waits for the shopper returns that one
    (a double tap never prompts twice). Raises ``PaymentMethodUnavailable``,
    ``OrderNotPayable``, ``PaymentInProgress`` or ``NotFound``, changing nothing.
    """
    if method == "cod" or method not in offered_methods(session, store, allow_simulated):
        raise PaymentMethodUnavailable(N_("'{method}' is not a way this shop takes payment "
                                          "online."), values={"method": method})
    with committing(session):
        order = order_flow.lock_order(session, store.id, order_id)  # requests take turns
        waiting = open_payment(session, store.id, order.id)
        if waiting is not None:
            if waiting.method != method:
                raise PaymentInProgress(N_("A payment for order #{number} is already waiting "
                                           "for you. Please finish or wait for it."),
                                        values={"number": order.number})
            if waiting.status == PENDING and waiting.redirect_url and (
                    waiting.expires_at is None or waiting.expires_at > utcnow()):
                # Asked again while its link is open: the SMS may be lost. The same link again.
                events.record(session, store.id, events.PAYMENT_ACTION_REQUIRED,
                              {"order_id": order.id, "payment_id": waiting.id,
                               "url": waiting.redirect_url, "again": True})
            return waiting
        owed = check_payable(session, store, order)
        gateway = get_gateway(session, store.id, method)
        payment = Payment(store_id=store.id, order_id=order.id, method=method, amount=owed,
                          currency=order.currency, status=CREATED,
                          phone=phone or order.customer.phone,
                          simulated=bool(gateway and gateway.simulated))
        session.add(payment)
        session.flush()
        events.record(session, store.id, events.PAYMENT_REQUESTED,
                      {"order_id": order.id, "payment_id": payment.id, "method": method})
    return payment


def charge_for(session: Session, payment: Payment) -> Charge:
    store = session.get(Store, payment.store_id)
    order = session.get(Order, payment.order_id)
    return Charge(payment_id=payment.id, reference=f"DK{store.id}-{order.number}-{payment.id}",
                  amount=Money(payment.amount, payment.currency), phone=payment.phone or "",
                  order_number=order.number, store_name=store.name,
                  email=_placeholder_email(payment.phone))


def _placeholder_email(phone: str | None) -> str:
    # Card providers require an e-mail; feature-phone shoppers rarely have one.
    digits = "".join(ch for ch in (phone or "") if ch.isdigit()) or "customer"
    return f"{digits}@customers.duka.africa"


def do_initiate(session: Session, payment_id: int, provider: Provider, env: ProviderEnv,
                gateway: GatewayConfig, last_try: bool = False) -> Payment:
    """Ask the provider to collect a ``created`` payment; commits what it answered.

    A request that got no answer (``ProviderUnavailable``) propagates, so the job asks again
    later and the payment stays ``created`` — unless asking again is unsafe or this was the
    last try: see ``_unanswered``. A refusal fails the payment with the provider's reason.
    """
    payment = session.get(Payment, payment_id)
    if payment is None or payment.status != CREATED:
        return payment  # already asked (a retried job): never prompt twice
    charge = charge_for(session, payment)
    session.rollback()  # hold no transaction while the provider thinks
    try:
        initiated = provider.initiate(env, gateway, charge)
    except ProviderRefused as refusal:
        initiated = Initiated(provider_reference="", status=FAILED, reason=refusal.reason)
    except ProviderUnavailable as outage:
        initiated = _unanswered(provider, gateway, charge, outage, last_try)
        if initiated is None:
            raise
        log.warning("payment %s: %s did not answer (%s); %s", payment_id, provider.name,
                    outage, initiated.status)
    with committing(session):
        payment = session.get(Payment, payment_id)
        order = order_flow.lock_order(session, payment.store_id, payment.order_id)
        session.refresh(payment)
        if payment.status != CREATED:
            return payment
        store = session.get(Store, payment.store_id)
        payment.provider_reference = initiated.provider_reference or None
        payment.redirect_url = initiated.redirect_url
        payment.expires_at = utcnow() + timedelta(minutes=provider.pending_minutes)
        payment.status = PENDING
        if initiated.status != PENDING:
            _settle(session, store, order, payment, Outcome(
                initiated.provider_reference, initiated.status, reason=initiated.reason))
        elif initiated.redirect_url:
            events.record(session, store.id, events.PAYMENT_ACTION_REQUIRED,
                          {"order_id": order.id, "payment_id": payment.id,
                           "url": initiated.redirect_url})
    return payment


def _unanswered(provider: Provider, gateway: GatewayConfig, charge: Charge,
                outage: ProviderUnavailable, last_try: bool) -> Initiated | None:
    """What a request to collect that got no answer leaves: None to ask again later."""
    if outage.maybe_taken and not provider.repeat_safe:
        # The prompt may be on the phone already, and asking again would prompt twice (and
        # Daraja refuses a second push while one is open). The payment waits for its answer
        # with no reference: a success callback is matched to it by phone and amount
        # (claim_unanswered), and otherwise it expires in its time.
        return Initiated(provider_reference="", status=PENDING)
    if not last_try:
        return None  # nothing reached the provider, or asking again is safe
    if outage.maybe_taken and provider.how_asked(gateway.settings,
                                                 charge.amount.currency) != LINK:
        # A prompt may be on the phone: wait for it under the reference it went with, which
        # the reconciler asks about (and which expires if the provider never had it).
        return Initiated(provider.reference_of(gateway, charge), PENDING)
    # Nothing is on the phone (nothing got there, or a link nobody received): fail it now,
    # so the shopper hears so and Pay now asks afresh.
    return Initiated(provider_reference="", status=FAILED, reason=NO_ANSWER)


# -- hearing back -------------------------------------------------------------------------------
def find_payment(session: Session, method: str, provider_reference: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.method == method,
                                                Payment.provider_reference == provider_reference))


UNANSWERED_CLAIM_HOURS = 24  # a lost answer's payment waits this long for its callback


def claim_unanswered(session: Session, store_id: int, method: str,
                     outcome: Outcome) -> tuple[Payment | None, int]:
    """The store's payment whose request went out but whose answer is not in (no reference),
    that a success naming an unknown reference is for: same way to pay, payer and amount, asked
    for within ``UNANSWERED_CLAIM_HOURS``. Also one still waiting for that answer (created:
    the shopper approved before it came), or one expired meanwhile (the shopper paid late; money
    taken is recorded, and ``payments.state`` lets a success follow). Only if exactly one
    matches: it takes the reference, so the callback applies as any other (a repeat finds it
    by the reference); commits. Returns it, and how many matched (several: a person decides)."""
    if outcome.status != SUCCEEDED or not outcome.payer or outcome.amount is None:
        return None, 0
    with committing(session):
        matches = session.scalars(
            select(Payment).where(
                Payment.store_id == store_id, Payment.method == method,
                Payment.status.in_((CREATED, PENDING, EXPIRED)),
                Payment.provider_reference.is_(None),
                Payment.created_at >= utcnow() - timedelta(hours=UNANSWERED_CLAIM_HOURS),
                Payment.phone == outcome.payer, Payment.amount == outcome.amount.amount,
                Payment.currency == outcome.amount.currency)
            .order_by(Payment.id).limit(2).with_for_update()).all()
        if len(matches) != 1:
            return None, len(matches)
        matches[0].provider_reference = outcome.provider_reference
    return matches[0], 1


def do_record_callback(session: Session, provider: str, dedup_key: str, outcome: str,
                       note: str, payload, store_id: int | None = None,
                       payment_id: int | None = None) -> bool:
    """Keep a callback we will not apply (flagged, unknown payment); False if seen before."""
    try:
        with committing(session):
            session.add(PaymentCallback(provider=provider, dedup_key=dedup_key[:200],
                                        outcome=outcome, note=note[:300], payload=payload,
                                        store_id=store_id, payment_id=payment_id))
    except IntegrityError:
        return False
    return True


def do_apply_outcome(session: Session, payment_id: int, outcome: Outcome, payload=None,
                     actor: str = "provider") -> str:
    """Apply a provider's word on a payment; commits. Returns what became of it:

    ``applied``; ``duplicate`` (this callback was seen before: nothing changes); ``stale``
    (the payment has settled, or the outcome is no news); ``flagged`` (a success whose amount
    or currency is not the payment's: recorded for a person, not applied).
    """
    if outcome.status == PENDING:
        return "stale"  # no news; and it must not use up the key of the callback that settles
    with committing(session):
        record = None
        if outcome.dedup_key:
            payment = session.get(Payment, payment_id)
            record = PaymentCallback(provider=payment.method, dedup_key=outcome.dedup_key[:200],
                                     outcome="applied", payload=payload or {},
                                     store_id=payment.store_id, payment_id=payment.id)
            try:
                with session.begin_nested():  # the unique key decides between two deliveries
                    session.add(record)
            except IntegrityError:
                return "duplicate"
        payment = session.get(Payment, payment_id)
        order = order_flow.lock_order(session, payment.store_id, payment.order_id)
        session.refresh(payment)
        result = _apply(session, session.get(Store, payment.store_id), order, payment, outcome,
                        actor)
        if record is not None:
            record.outcome = result
    return result


def _apply(session: Session, store: Store, order: Order, payment: Payment, outcome: Outcome,
           actor: str) -> str:
    if outcome.status == PENDING or not state.can_move(payment.status, outcome.status):
        return "stale"
    if outcome.status == SUCCEEDED and outcome.amount is not None and (
            outcome.amount.currency != payment.currency or outcome.amount.amount != payment.amount):
        log.warning("store %s payment %s: provider reports %s, expected %s %s; flagged",
                    store.id, payment.id, outcome.amount, payment.amount, payment.currency)
        return "flagged"
    _settle(session, store, order, payment, outcome, actor)
    return "applied"


def _settle(session: Session, store: Store, order: Order, payment: Payment, outcome: Outcome,
            actor: str = "provider") -> None:
    payment.status = outcome.status
    if outcome.receipt:
        payment.reference = outcome.receipt[:100]
    elif payment.reference is None and outcome.status == SUCCEEDED:
        payment.reference = payment.provider_reference
    payment.failure_reason = outcome.reason[:200]
    session.flush()
    if outcome.status == SUCCEEDED:
        refresh_financial_status(session, store, order, actor=f"{payment.method}:{actor}")
        note_money_not_owed(session, store, order, payment)
        events.record(session, store.id, events.PAYMENT_COMPLETED,
                      {"order_id": order.id, "payment_id": payment.id, "method": payment.method,
                       "amount": payment.amount})
    else:
        events.record(session, store.id, events.PAYMENT_FAILED,
                      {"order_id": order.id, "payment_id": payment.id,
                       "status": outcome.status, "reason": outcome.reason})
    log.info("store %s order #%s: %s payment %s %s", store.id, order.number, payment.method,
             payment.id, payment.status)


def payment_for_store(session: Session, store_id: int, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None or payment.store_id != store_id:
        raise NotFound("No such payment.")
    return payment


def open_payments_due(session: Session, older_than_seconds: int = 60,
                      limit: int = 200) -> list[Payment]:
    """Pending or created payments older than a minute: the reconciler asks about them."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    return list(session.scalars(
        select(Payment).where(Payment.status.in_((CREATED, PENDING)),
                              Payment.created_at <= cutoff)
        .order_by(Payment.id).limit(limit)))

