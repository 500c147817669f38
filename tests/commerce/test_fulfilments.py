from functools import partial

import pytest
from sqlalchemy import func, select

from commerce import fulfilments, order_flow, order_payments, shipping
from commerce.errors import InvalidQuantity, NotFound
from commerce.fulfilments import (
    CannotFulfil,
    FulfilExceedsRemaining,
    NothingToDeliver,
    TrackingNumberInUse,
)
from commerce.models import Fulfilment, Store
from tests.helpers import events_named, fresh, place_order

place = partial(place_order, how="delivery")


def paid_order(db, store, **kwargs):
    order = place(db, store, **kwargs)
    order_payments.do_record_payment(db, store, order.id, "mpesa", order.total,
                                     f"QK{order.id}")
    return fresh(db, order.id)


def sent(order):
    return [line.quantity_fulfilled for line in order.lines]


def test_sending_everything_ships_a_paid_order_and_it_can_be_tracked(db, store):
    order = paid_order(db, store)

    fulfilment = fulfilments.do_fulfil(db, store, order.id, carrier=" G4S ",
                                       tracking_number=" G4S-778 ", actor="staff:juma")

    order = fresh(db, order.id)
    assert (order.status, order.fulfilment_status) == ("shipped", "fulfilled")
    assert sent(order) == [2, 1]
    assert sorted((ln.order_line_id, ln.quantity) for ln in fulfilment.lines) == [
        (order.lines[0].id, 2), (order.lines[1].id, 1)]
    assert (fulfilment.carrier, fulfilment.tracking_number, fulfilment.status) == (
        "G4S", "G4S-778", "shipped")
    assert events_named(db, "order.fulfilled") == [
        {"order_id": order.id, "number": 1001, "fulfilment_id": fulfilment.id}]
    assert events_named(db, "order.shipped") == [{"order_id": order.id, "number": 1001}]
    tracked_order, tracked = shipping.track(db, store.id, "G4S-778")
    assert (tracked_order.id, tracked.id) == (order.id, fulfilment.id)
    last = order_flow.order_history(db, store.id, order.id)[-1]
    assert (last.from_status, last.to_status, last.actor) == ("paid", "shipped", "staff:juma")


def test_a_partial_shipment_starts_processing_and_the_rest_ships_it(db, store):
    order = paid_order(db, store)
    tomatoes, onions = order.lines

    fulfilments.do_fulfil(db, store, order.id, {tomatoes.id: 1})
    order = fresh(db, order.id)
    assert (order.status, order.fulfilment_status, sent(order)) == (
        "processing", "partially_fulfilled", [1, 0])

    fulfilments.do_fulfil(db, store, order.id)  # everything left: 1 tomato, 1 onion
    order = fresh(db, order.id)
    assert (order.status, order.fulfilment_status, sent(order)) == (
        "shipped", "fulfilled", [2, 1])
    assert db.scalar(select(func.count(Fulfilment.id))) == 2


def test_a_pickup_order_becomes_ready_then_collected(db, store):
    order = paid_order(db, store, how="pickup")

    fulfilments.do_fulfil(db, store, order.id)
    assert fresh(db, order.id).status == "ready_for_pickup"

    fulfilments.do_mark_delivered(db, store, order.id, actor="staff:juma")
    order = fresh(db, order.id)
    assert order.status == "delivered"
    assert order_flow.order_history(db, store.id, order.id)[-1].reason == "collected"
    assert events_named(db, "order.delivered") == [{"order_id": order.id, "number": 1001}]


def test_a_cash_on_delivery_order_is_sent_once_it_is_being_prepared(db, store):
    order = place(db, store, payment_method="cod")
    with pytest.raises(CannotFulfil) as error:
        fulfilments.do_fulfil(db, store, order.id)
    assert error.value.message == \
        "Order #1001 is awaiting payment; it cannot be sent out now."

    order_flow.do_transition_order(db, store, order.id, "process", "staff")
    fulfilments.do_fulfil(db, store, order.id)
    order = fresh(db, order.id)
    assert (order.status, order.financial_status) == ("shipped", "pending")


def test_more_than_is_left_cannot_be_sent_and_nothing_changes(db, store):
    order = paid_order(db, store)
    tomatoes, onions = order.lines
    fulfilments.do_fulfil(db, store, order.id, {tomatoes.id: 1})

    with pytest.raises(FulfilExceedsRemaining) as error:
        fulfilments.do_fulfil(db, store, order.id, {onions.id: 1, tomatoes.id: 2})

    assert error.value.code == "fulfil_exceeds_remaining"
    assert error.value.message == "Only 1 Tomatoes 1kg left to send on order #1001."
    order = fresh(db, order.id)
    assert (order.status, order.fulfilment_status, sent(order)) == (
        "processing", "partially_fulfilled", [1, 0])
    assert db.scalar(select(func.count(Fulfilment.id))) == 1
    assert len(events_named(db, "order.fulfilled")) == 1


def test_a_fully_sent_order_has_nothing_left_to_send(db, store):
    order = paid_order(db, store)
    fulfilments.do_fulfil(db, store, order.id)
    with pytest.raises(CannotFulfil):
        fulfilments.do_fulfil(db, store, order.id)
    assert db.scalar(select(func.count(Fulfilment.id))) == 1


@pytest.mark.parametrize("quantity", [0, -1, 1.0, True])
def test_bad_quantities_are_refused(db, store, quantity):
    order = paid_order(db, store)
    with pytest.raises(InvalidQuantity):
        fulfilments.do_fulfil(db, store, order.id, {order.lines[0].id: quantity})
    assert sent(fresh(db, order.id)) == [0, 0]


def test_an_empty_choice_is_refused(db, store):
    order = paid_order(db, store)
    with pytest.raises(InvalidQuantity):
        fulfilments.do_fulfil(db, store, order.id, {})
    assert db.scalar(select(func.count(Fulfilment.id))) == 0


def test_a_line_of_another_order_cannot_be_sent(db, store):
    mine = paid_order(db, store)
    theirs = paid_order(db, store, phone="+254722000111")
    with pytest.raises(NotFound):
        fulfilments.do_fulfil(db, store, mine.id, {theirs.lines[0].id: 1})
    assert sent(fresh(db, mine.id)) == [0, 0]
    assert sent(fresh(db, theirs.id)) == [0, 0]


def test_a_tracking_number_names_one_shipment(db, store):
    first = paid_order(db, store)
    second = paid_order(db, store, phone="+254722000111")
    fulfilments.do_fulfil(db, store, first.id, tracking_number="G4S-778")

    with pytest.raises(TrackingNumberInUse):
        fulfilments.do_fulfil(db, store, second.id, tracking_number="G4S-778")

    assert fresh(db, second.id).status == "paid"
    assert db.scalar(select(func.count(Fulfilment.id))) == 1


def test_an_order_is_delivered_when_every_shipment_has_arrived(db, store):
    order = paid_order(db, store)
    tomatoes, onions = order.lines
    first = fulfilments.do_fulfil(db, store, order.id, {tomatoes.id: 2})
    second = fulfilments.do_fulfil(db, store, order.id, {onions.id: 1})

    fulfilments.do_mark_delivered(db, store, order.id, first.id)
    assert fresh(db, order.id).status == "shipped"

    fulfilments.do_mark_delivered(db, store, order.id, second.id)
    assert fresh(db, order.id).status == "delivered"
    assert [f.status for f in db.scalars(select(Fulfilment).order_by(Fulfilment.id))] == [
        "delivered", "delivered"]

    fulfilments.do_mark_delivered(db, store, order.id, second.id)  # the rider tapped twice
    assert len(order_flow.order_history(db, store.id, order.id)) == 5
    assert len(events_named(db, "order.delivered")) == 1


def test_an_order_with_nothing_sent_cannot_be_delivered(db, store):
    order = paid_order(db, store)
    with pytest.raises(NothingToDeliver) as error:
        fulfilments.do_mark_delivered(db, store, order.id)
    assert error.value.message == "Nothing on order #1001 has been sent yet."
    assert fresh(db, order.id).status == "paid"


def test_another_stores_order_cannot_be_sent_or_delivered(db, store):
    order = paid_order(db, store)
    other = Store(slug="other", name="Other shop", currency="KES", country="KE")
    db.add(other)
    db.commit()
    with pytest.raises(NotFound):
        fulfilments.do_fulfil(db, other, order.id)
    shipment = fulfilments.do_fulfil(db, store, order.id)
    with pytest.raises(NotFound):
        fulfilments.do_mark_delivered(db, other, order.id, shipment.id)
    assert fresh(db, order.id).status == "shipped"
    assert db.get(Fulfilment, shipment.id).status == "shipped"
