import pytest
from sqlalchemy import func, select

from commerce import (
    drafts,
    fulfilments,
    order_flow,
    order_payments,
)
from commerce.errors import NotFound
from commerce.models import OrderStatusChange, Payment, Store
from commerce.money import InvalidAmount, Money
from commerce.order_payments import (
    CurrencyMismatch,
    InvalidPayment,
    OrderNotPayable,
    ReferenceInUse,
)
from tests.helpers import events_named, fresh, place_order, variant_by_sku

place = place_order


def payment_count(db):
    return db.scalar(select(func.count(Payment.id)))


def test_paying_in_full_marks_the_order_paid(db, store):
    order = place(db, store)
    assert order.total == 34000

    payment = order_payments.do_record_payment(db, store, order.id, "mpesa", 34000,
                                               " QKX81AB2 ", actor="mpesa")

    assert (payment.amount, payment.currency, payment.status, payment.reference) == (
        34000, "KES", "succeeded", "QKX81AB2")
    order = fresh(db, order.id)
    assert (order.status, order.financial_status) == ("paid", "paid")
    assert events_named(db, "order.paid") == [{"order_id": order.id, "number": 1001}]
    last = order_flow.order_history(db, store.id, order.id)[-1]
    assert (last.from_status, last.to_status, last.actor, last.reason) == (
        "pending_payment", "paid", "mpesa", "payment received")


def test_a_part_payment_leaves_the_order_pending_until_the_rest_comes(db, store):
    order = place(db, store)

    order_payments.do_record_payment(db, store, order.id, "mpesa", Money(20000, "KES"), "QK1")
    assert (fresh(db, order.id).status, fresh(db, order.id).financial_status) == (
        "pending_payment", "pending")
    assert events_named(db, "order.paid") == []

    order_payments.do_record_payment(db, store, order.id, "mpesa", 14000, "QK2")
    assert (fresh(db, order.id).status, fresh(db, order.id).financial_status) == (
        "paid", "paid")
    assert order_payments.paid_total(db, store.id, order.id) == 34000


def test_the_same_receipt_twice_is_recorded_once(db, store):
    order = place(db, store)
    first = order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "QK1")

    again = order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "QK1")

    assert again.id == first.id
    assert payment_count(db) == 1
    assert len(events_named(db, "order.paid")) == 1
    assert db.scalar(select(func.count(OrderStatusChange.id))) == 2


def test_a_repeat_that_lost_the_race_returns_the_winner(db, store, monkeypatch):
    order = place(db, store)
    first = order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "QK1")
    real_find = order_payments._find
    calls = []

    def find_too_late(*args):  # the first look misses a row committed a moment later
        calls.append(args)
        return None if len(calls) == 1 else real_find(*args)

    monkeypatch.setattr(order_payments, "_find", find_too_late)
    again = order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "QK1")

    assert again.id == first.id
    assert len(calls) == 2
    assert payment_count(db) == 1
    assert len(events_named(db, "order.paid")) == 1


def test_a_receipt_already_used_for_another_order_is_refused(db, store):
    mine = place(db, store)
    theirs = place(db, store, phone="+254722000111")
    order_payments.do_record_payment(db, store, mine.id, "mpesa", 34000, "QK1")

    with pytest.raises(ReferenceInUse) as error:
        order_payments.do_record_payment(db, store, theirs.id, "mpesa", 34000, "QK1")

    assert error.value.code == "reference_in_use"
    assert payment_count(db) == 1
    assert fresh(db, theirs.id).financial_status == "pending"


def test_a_pending_payment_is_settled_once_and_never_unsettled(db, store):
    order = place(db, store)
    pending = order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "ws_CO_1",
                                               status="pending")
    assert fresh(db, order.id).financial_status == "pending"

    settled = order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "ws_CO_1")
    assert settled.id == pending.id
    assert fresh(db, order.id).financial_status == "paid"

    late_failure = order_payments.do_record_payment(db, store, order.id, "mpesa", 34000,
                                                    "ws_CO_1", status="failed")
    assert late_failure.status == "succeeded"
    assert fresh(db, order.id).financial_status == "paid"
    assert events_named(db, "payment.failed") == []
    assert payment_count(db) == 1


def test_a_failed_payment_is_kept_and_announced_but_pays_nothing(db, store):
    order = place(db, store)

    failed = order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "QK9",
                                              status="failed")

    assert events_named(db, "payment.failed") == [{"order_id": order.id,
                                                    "payment_id": failed.id}]
    order = fresh(db, order.id)
    assert (order.status, order.financial_status) == ("pending_payment", "pending")


def test_cash_collected_on_delivery_pays_the_order_without_moving_it_back(db, store):
    order = place(db, store, payment_method="cod", how="delivery")
    order_flow.do_transition_order(db, store, order.id, "process", "staff")
    fulfilments.do_fulfil(db, store, order.id)
    fulfilments.do_mark_delivered(db, store, order.id)

    order_payments.do_record_payment(db, store, order.id, "cod", order.total, "CASH-1001")

    order = fresh(db, order.id)
    assert (order.status, order.financial_status) == ("delivered", "paid")
    assert events_named(db, "order.paid") == [{"order_id": order.id, "number": 1001}]


@pytest.mark.parametrize("amount", [0, -100, 340.0, True, "34000", None])
def test_bad_amounts_are_refused_and_change_nothing(db, store, amount):
    order = place(db, store)
    with pytest.raises(InvalidAmount) as error:
        order_payments.do_record_payment(db, store, order.id, "mpesa", amount, "QK1")
    assert error.value.code == "invalid_amount"
    assert payment_count(db) == 0
    assert fresh(db, order.id).status == "pending_payment"


def test_money_in_another_currency_is_refused(db, store):
    order = place(db, store)
    with pytest.raises(CurrencyMismatch) as error:
        order_payments.do_record_payment(db, store, order.id, "mpesa", Money(34000, "UGX"),
                                         "QK1")
    assert error.value.message == "Order #1001 is in KES, not UGX."
    assert payment_count(db) == 0


@pytest.mark.parametrize("method, reference, status", [
    ("bitcoin", "QK1", "succeeded"), ("mpesa", "", "succeeded"), ("mpesa", None, "succeeded"),
    ("mpesa", "Q" * 101, "succeeded"), ("mpesa", "QK1", "refunded")])
def test_payments_we_cannot_record_are_refused(db, store, method, reference, status):
    order = place(db, store)
    with pytest.raises(InvalidPayment):
        order_payments.do_record_payment(db, store, order.id, method, 34000, reference, status)
    assert payment_count(db) == 0


def test_a_draft_cannot_take_a_payment(db, store):
    draft = drafts.do_create_draft_order(db, store, "0712345678",
                                         {variant_by_sku(db, store, "CABB").id: 1}, "staff")
    with pytest.raises(OrderNotPayable) as error:
        order_payments.do_record_payment(db, store, draft.id, "mpesa", draft.total, "QK1")
    assert error.value.message == "Order #1001 is still a draft; it cannot take payments yet."
    assert payment_count(db) == 0


def test_another_stores_order_cannot_be_paid(db, store):
    order = place(db, store)
    other = Store(slug="other", name="Other shop", currency="KES", country="KE")
    db.add(other)
    db.commit()
    with pytest.raises(NotFound):
        order_payments.do_record_payment(db, other, order.id, "mpesa", 34000, "QK1")
    assert payment_count(db) == 0
    assert fresh(db, order.id).financial_status == "pending"


@pytest.mark.parametrize("paid, refunded, expected", [
    (0, 0, "pending"), (20000, 0, "pending"), (34000, 0, "paid"), (40000, 0, "paid"),
    (34000, 1, "partially_refunded"), (34000, 34000, "refunded")])
def test_financial_status_follows_payments_and_refunds(paid, refunded, expected):
    assert order_payments.financial_status_for(34000, paid, refunded) == expected


def test_an_order_with_nothing_to_pay_is_paid():
    assert order_payments.financial_status_for(0, 0, 0) == "paid"
