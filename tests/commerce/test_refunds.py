from functools import partial

import pytest
from sqlalchemy import func, select

from commerce import fulfilments, order_payments, refunds
from commerce.errors import InvalidQuantity, NotFound
from commerce.models import Refund, StockMovement, Store
from commerce.money import InvalidAmount, Money
from commerce.order_payments import CurrencyMismatch
from commerce.refunds import RefundExceedsPayment, ReturnExceedsSent
from tests.helpers import events_named, fresh, on_hand, place_order

place = partial(place_order, how="delivery")


def paid_order(db, store, phone="+254712345678"):
    order = place(db, store, phone=phone)
    order_payments.do_record_payment(db, store, order.id, "mpesa", order.total,
                                     f"QK{order.id}")
    return fresh(db, order.id)


def delivered_order(db, store):
    order = paid_order(db, store)
    fulfilments.do_fulfil(db, store, order.id)
    fulfilments.do_mark_delivered(db, store, order.id)
    return fresh(db, order.id)


def refund_count(db):
    return db.scalar(select(func.count(Refund.id)))


def test_a_refund_of_money_alone_partly_refunds_the_order(db, store):
    order = paid_order(db, store)
    assert order.total == 44000

    refund = refunds.do_refund(db, store, order.id, 10000, reason="late delivery",
                               actor="staff:amina")

    assert (refund.amount, refund.reason, refund.actor, refund.restock, refund.lines) == (
        10000, "late delivery", "staff:amina", False, [])
    order = fresh(db, order.id)
    assert (order.status, order.financial_status) == ("paid", "partially_refunded")
    assert [line.quantity_returned for line in order.lines] == [0, 0]
    assert events_named(db, "order.refunded") == [
        {"order_id": order.id, "number": 1001, "refund_id": refund.id, "amount": 10000}]
    assert on_hand(db, "TOMA-1KG") == 78


def test_refunds_cannot_exceed_what_was_paid_and_change_nothing(db, store):
    order = paid_order(db, store)
    refunds.do_refund(db, store, order.id, Money(40000, "KES"))

    with pytest.raises(RefundExceedsPayment) as error:
        refunds.do_refund(db, store, order.id, 4001)

    assert error.value.code == "refund_exceeds_payment"
    shown = store.money(4000).format(store.default_locale)  # money.py owns the formatting
    assert error.value.message == f"Only {shown} of order #1001 can still be refunded."
    assert error.value.details == {"refundable": 4000}
    assert refund_count(db) == 1
    assert fresh(db, order.id).financial_status == "partially_refunded"

    refunds.do_refund(db, store, order.id, 4000)
    assert fresh(db, order.id).financial_status == "refunded"


def test_an_unpaid_order_cannot_be_refunded(db, store):
    order = place(db, store, payment_method="cod")
    with pytest.raises(RefundExceedsPayment):
        refunds.do_refund(db, store, order.id, 100)
    assert refund_count(db) == 0


def test_returning_everything_with_restock_returns_the_order_and_the_stock(db, store):
    order = delivered_order(db, store)
    tomatoes, onions = order.lines
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "ONIO-1KG")) == (78, 69)

    refund = refunds.do_refund(db, store, order.id, order.total,
                               {tomatoes.id: 2, onions.id: 1}, restock=True,
                               reason="wrong address", actor="staff:amina")

    order = fresh(db, order.id)
    assert (order.status, order.financial_status) == ("returned", "refunded")
    assert [line.quantity_returned for line in order.lines] == [2, 1]
    assert sorted((ln.order_line_id, ln.quantity) for ln in refund.lines) == [
        (tomatoes.id, 2), (onions.id, 1)]
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "ONIO-1KG")) == (80, 70)
    back = db.scalars(select(StockMovement).where(StockMovement.reason == "returned")
                      .order_by(StockMovement.id)).all()
    assert [(m.delta, m.order_id, m.actor) for m in back] == [
        (2, order.id, "staff:amina"), (1, order.id, "staff:amina")]
    assert events_named(db, "order.returned") == [{"order_id": order.id, "number": 1001}]


def test_a_partial_return_without_restock_keeps_the_order_delivered(db, store):
    order = delivered_order(db, store)
    tomatoes = order.lines[0]

    refunds.do_refund(db, store, order.id, 12000, {tomatoes.id: 1}, reason="bruised")

    order = fresh(db, order.id)
    assert (order.status, order.financial_status) == ("delivered", "partially_refunded")
    assert [line.quantity_returned for line in order.lines] == [1, 0]
    assert on_hand(db, "TOMA-1KG") == 78  # bruised tomatoes do not go back on the shelf

    with pytest.raises(ReturnExceedsSent) as error:
        refunds.do_refund(db, store, order.id, 12000, {tomatoes.id: 2})
    assert error.value.message == \
        "Only 1 Tomatoes 1kg of order #1001 were sent and not yet returned."
    assert [line.quantity_returned for line in fresh(db, order.id).lines] == [1, 0]
    assert refund_count(db) == 1


def test_units_never_sent_cannot_be_returned(db, store):
    order = paid_order(db, store)
    with pytest.raises(ReturnExceedsSent):
        refunds.do_refund(db, store, order.id, 12000, {order.lines[0].id: 1}, restock=True)
    assert refund_count(db) == 0
    assert on_hand(db, "TOMA-1KG") == 78
    assert fresh(db, order.id).financial_status == "paid"


def test_everything_back_on_a_shipped_order_leaves_its_status(db, store):
    order = paid_order(db, store)
    fulfilments.do_fulfil(db, store, order.id)
    tomatoes, onions = order.lines

    refunds.do_refund(db, store, order.id, order.total, {tomatoes.id: 2, onions.id: 1},
                      restock=True, reason="refused at the door")

    order = fresh(db, order.id)
    assert (order.status, order.financial_status) == ("shipped", "refunded")
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "ONIO-1KG")) == (80, 70)


def test_restock_needs_items(db, store):
    order = delivered_order(db, store)
    with pytest.raises(InvalidQuantity):
        refunds.do_refund(db, store, order.id, 1000, restock=True)
    assert refund_count(db) == 0


@pytest.mark.parametrize("amount", [0, -1, 100.0, True])
def test_bad_amounts_are_refused(db, store, amount):
    order = paid_order(db, store)
    with pytest.raises(InvalidAmount):
        refunds.do_refund(db, store, order.id, amount)
    assert refund_count(db) == 0


def test_a_refund_in_another_currency_is_refused(db, store):
    order = paid_order(db, store)
    with pytest.raises(CurrencyMismatch):
        refunds.do_refund(db, store, order.id, Money(100, "NGN"))
    assert refund_count(db) == 0


def test_a_line_of_another_order_cannot_be_returned(db, store):
    mine = delivered_order(db, store)
    theirs = paid_order(db, store, phone="+254722000111")
    with pytest.raises(NotFound):
        refunds.do_refund(db, store, mine.id, 1000, {theirs.lines[0].id: 1})
    assert refund_count(db) == 0


def test_another_stores_order_cannot_be_refunded(db, store):
    order = paid_order(db, store)
    other = Store(slug="other", name="Other shop", currency="KES", country="KE")
    db.add(other)
    db.commit()
    with pytest.raises(NotFound):
        refunds.do_refund(db, other, order.id, 1000)
    assert refund_count(db) == 0
    assert fresh(db, order.id).financial_status == "paid"
