import pytest
from sqlalchemy import func, select

from commerce import fulfilments, order_flow, order_payments
from commerce.errors import NotFound
from commerce.models import Order, OrderStatusChange, StockMovement, Store
from commerce.order_flow import InvalidReason, InvalidTransition
from tests.helpers import events_named, on_hand, place_order

place = place_order


def pay(db, store, order, reference="QK1"):
    return order_payments.do_record_payment(db, store, order.id, "mpesa", order.total, reference)


def history(db, store, order):
    return [(c.from_status, c.to_status, c.actor, c.reason)
            for c in order_flow.order_history(db, store.id, order.id)]


def status_of(db, order_id):
    db.expire_all()
    return db.get(Order, order_id).status


# Every move the machine allows: (from, trigger, to, payment_method, delivery_method).
ALLOWED = {
    ("draft", "place", "pending_payment"),
    ("pending_payment", "pay", "paid"),
    ("paid", "process", "processing"),
    ("paid", "ship", "shipped"), ("processing", "ship", "shipped"),
    ("paid", "ready", "ready_for_pickup"), ("processing", "ready", "ready_for_pickup"),
    ("shipped", "deliver", "delivered"), ("ready_for_pickup", "deliver", "delivered"),
    ("delivered", "complete", "completed"),
    ("draft", "cancel", "cancelled"), ("pending_payment", "cancel", "cancelled"),
    ("paid", "cancel", "cancelled"), ("processing", "cancel", "cancelled"),
    ("delivered", "return", "returned"), ("completed", "return", "returned"),
}
TRIGGERS = ["place", "pay", "process", "ship", "ready", "deliver", "complete", "cancel",
            "return"]


def _moves(payment_method, delivery_method, financial_status):
    moves = set()
    for status in order_flow.STATES:
        for trigger in TRIGGERS:
            order = Order(number=1001, status=status, payment_method=payment_method,
                          delivery_method=delivery_method, financial_status=financial_status)
            if order_flow.can(order, trigger):
                moves.add((status, trigger, order_flow.check_transition(order, trigger)))
    return moves


def test_the_machine_allows_exactly_the_documented_moves():
    paid_delivery = _moves("mpesa", "delivery", "paid")
    assert paid_delivery == ALLOWED - {("paid", "ready", "ready_for_pickup"),
                                       ("processing", "ready", "ready_for_pickup")}
    paid_pickup = _moves("mpesa", "pickup", "paid")
    assert paid_pickup == ALLOWED - {("paid", "ship", "shipped"),
                                     ("processing", "ship", "shipped")}
    cod_unpaid = _moves("cod", "delivery", "pending")
    assert cod_unpaid - paid_delivery == {("pending_payment", "process", "processing")}
    assert paid_delivery - cod_unpaid == {("delivered", "complete", "completed")}
    assert order_flow.machine.states.keys() == set(order_flow.STATES)


def test_cancelling_puts_the_units_back_and_keeps_the_history(db, store):
    order = place(db, store)
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "ONIO-1KG")) == (78, 69)

    cancelled = order_flow.do_transition_order(db, store, order.id, "cancel", "staff:amina",
                                               "  Customer changed her mind ")

    assert cancelled.status == "cancelled"
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "ONIO-1KG")) == (80, 70)
    assert history(db, store, order) == [
        (None, "pending_payment", "customer", "placed at checkout"),
        ("pending_payment", "cancelled", "staff:amina", "Customer changed her mind")]
    assert events_named(db, "order.cancelled") == [{"order_id": order.id, "number": 1001}]
    back = db.scalars(select(StockMovement).where(StockMovement.reason == "cancelled")
                      .order_by(StockMovement.id)).all()
    assert [(m.delta, m.order_id, m.actor) for m in back] == [
        (2, order.id, "staff:amina"), (1, order.id, "staff:amina")]


def test_a_shipped_order_cannot_be_cancelled_and_nothing_changes(db, store):
    order = place(db, store, how="delivery")
    pay(db, store, order)
    fulfilments.do_fulfil(db, store, order.id)
    changes_before = db.scalar(select(func.count(OrderStatusChange.id)))

    with pytest.raises(InvalidTransition) as error:
        order_flow.do_transition_order(db, store, order.id, "cancel", "staff:amina")

    assert error.value.code == "invalid_transition"
    assert error.value.message == "Order #1001 is shipped; it cannot be cancelled."
    assert status_of(db, order.id) == "shipped"
    assert db.scalar(select(func.count(OrderStatusChange.id))) == changes_before
    assert events_named(db, "order.cancelled") == []
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "ONIO-1KG")) == (78, 69)


def test_cash_on_delivery_orders_may_be_prepared_unpaid_others_may_not(db, store):
    cod = place(db, store, payment_method="cod")
    mpesa = place(db, store, payment_method="mpesa", phone="+254722000111")

    assert order_flow.do_transition_order(db, store, cod.id, "process", "staff").status == \
        "processing"
    with pytest.raises(InvalidTransition) as error:
        order_flow.do_transition_order(db, store, mpesa.id, "process", "staff")

    assert error.value.message == \
        "Order #1002 is awaiting payment; it cannot be prepared until it is paid."
    assert status_of(db, mpesa.id) == "pending_payment"
    assert events_named(db, "order.processing") == [{"order_id": cod.id, "number": 1001}]


@pytest.mark.parametrize("trigger, action", [
    ("pay", "record a payment"), ("ship", "fulfil the order"), ("ready", "fulfil the order"),
    ("deliver", "mark it delivered"), ("return", "refund the returned items"),
    ("place", "complete the draft order")])
def test_moves_that_follow_from_a_fact_cannot_be_forced(db, store, trigger, action):
    order = place(db, store)
    with pytest.raises(InvalidTransition) as error:
        order_flow.do_transition_order(db, store, order.id, trigger, "staff")
    assert error.value.message == f"To move order #1001 on, {action}."
    assert status_of(db, order.id) == "pending_payment"
    assert len(order_flow.order_history(db, store.id, order.id)) == 1


def test_an_unknown_move_is_refused(db, store):
    order = place(db, store)
    with pytest.raises(InvalidTransition) as error:
        order_flow.do_transition_order(db, store, order.id, "teleport", "staff")
    assert error.value.message == "'teleport' is not something an order can do."
    assert status_of(db, order.id) == "pending_payment"


def test_cancelling_a_partly_sent_order_puts_back_only_what_never_left(db, store):
    order = place(db, store)
    pay(db, store, order)
    tomatoes = order.lines[0]
    fulfilments.do_fulfil(db, store, order.id, {tomatoes.id: 1})
    assert status_of(db, order.id) == "processing"

    order_flow.do_transition_order(db, store, order.id, "cancel", "staff")

    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "ONIO-1KG")) == (79, 70)


def test_a_delivered_order_is_completed_only_once_paid(db, store):
    order = place(db, store, payment_method="cod", how="delivery")
    order_flow.do_transition_order(db, store, order.id, "process", "staff")
    fulfilments.do_fulfil(db, store, order.id, carrier="Own rider")
    fulfilments.do_mark_delivered(db, store, order.id)

    with pytest.raises(InvalidTransition) as error:
        order_flow.do_transition_order(db, store, order.id, "complete", "staff")
    assert error.value.message == "Order #1001 is not paid yet; it cannot be completed."
    assert status_of(db, order.id) == "delivered"

    order_payments.do_record_payment(db, store, order.id, "cod", order.total, "CASH-1")
    order_flow.do_transition_order(db, store, order.id, "complete", "staff")
    assert [to for _, to, _, _ in history(db, store, order)] == [
        "pending_payment", "processing", "shipped", "delivered", "completed"]


def test_a_reason_too_long_is_refused_and_changes_nothing(db, store):
    order = place(db, store)
    with pytest.raises(InvalidReason):
        order_flow.do_transition_order(db, store, order.id, "cancel", "staff", "x" * 301)
    assert status_of(db, order.id) == "pending_payment"
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "ONIO-1KG")) == (78, 69)


def test_another_stores_order_is_not_found(db, store):
    order = place(db, store)
    other = Store(slug="other", name="Other shop", currency="KES", country="KE")
    db.add(other)
    db.commit()

    with pytest.raises(NotFound):
        order_flow.do_transition_order(db, other, order.id, "cancel", "staff")
    with pytest.raises(NotFound):
        order_flow.order_history(db, other.id, order.id)
    assert status_of(db, order.id) == "pending_payment"
    assert on_hand(db, "TOMA-1KG") == 78
