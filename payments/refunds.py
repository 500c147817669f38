"""Paying money back through the provider it came from.

The refund is recorded first (``pending``, so two refunds can never together exceed the
payment), then the provider is asked, then its answer settles the record. Cash on delivery is
given back by hand, so its refund is recorded as done.
"""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from commerce import refunds as commerce_refunds
from commerce.models import Refund, Store
from commerce.money import Money
from payments.base import (
    FAILED, PENDING, SUCCEEDED, PaidPayment, ProviderRefused, ProviderUnavailable,
)
from payments.context import PaymentServices
from payments.gateways import get_gateway
from payments.jobs import provider_call
from payments.registry import get_provider
from payments.service import payment_for_store

log = logging.getLogger(__name__)


def do_refund_payment(session: Session, ctx: PaymentServices, store: Store, payment_id: int,
                      amount: int, reason: str = "", actor: str = "merchant") -> Refund:
    """Give ``amount`` minor units of a succeeded payment back; commits.

    Raises ``RefundExceedsPayment``, ``InvalidAmount`` or ``NotFound`` (changing nothing).
    A provider that cannot be reached leaves the refund ``pending`` (shown to the merchant);
    one that refuses marks it ``failed`` with the reason.
    """
    payment = payment_for_store(session, store.id, payment_id)
    by_hand = payment.method == "cod" or payment.simulated
    refund = commerce_refunds.do_refund(
        session, store, payment.order_id, amount, reason=reason, actor=actor,
        payment_id=payment.id, status=SUCCEEDED if by_hand else PENDING)
    if by_hand:
        return refund
    row = get_gateway(session, store.id, payment.method)
    if row is None:
        return commerce_refunds.do_settle_refund(session, store, refund.id, FAILED, actor=actor)
    env, config = provider_call(ctx, row)
    paid = PaidPayment(payment_id=payment.id, provider_reference=payment.provider_reference or "",
                       receipt=payment.reference, amount=Money(payment.amount, payment.currency),
                       phone=payment.phone)
    refund_id = refund.id
    session.rollback()  # hold nothing while the provider answers
    try:
        answer = get_provider(row.provider).refund(env, config, paid,
                                                   Money(refund.amount, paid.amount.currency),
                                                   reason)
    except ProviderUnavailable as error:
        log.warning("refund %s stays pending: %s", refund_id, error)
        return session.get(Refund, refund_id)
    except ProviderRefused as refusal:
        log.warning("refund %s refused: %s", refund_id, refusal.reason)
        return commerce_refunds.do_settle_refund(session, store, refund_id, FAILED, actor=actor)
    if answer.status == PENDING:  # queued at the provider: its webhook or a person settles it
        refund = session.get(Refund, refund_id)
        refund.provider_reference = answer.provider_reference
        session.commit()
        return refund
    return commerce_refunds.do_settle_refund(session, store, refund_id, answer.status,
                                             answer.provider_reference, actor=actor)
