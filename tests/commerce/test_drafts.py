import threading

import pytest
from sqlalchemy import func, select

from commerce import carts, checkout, drafts, order_flow, stores
from commerce.customers import get_or_create_customer
from commerce.errors import InvalidPhoneNumber, InvalidQuantity, NotFound, OutOfStock
from commerce.models import Customer, Order, Stock, StockMovement, Store
from commerce.order_flow import InvalidTransition
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import events_named, fresh, on_hand, variant_by_sku


def ids(db, store, **by_sku):
    return {variant_by_sku(db, store, sku.replace("_", "-")).id: qty
            for sku, qty in by_sku.items()}


def draft_for(db, store, phone="0712 345678", **by_sku):
    lines = ids(db, store, **by_sku) if by_sku else ids(db, store, TOMA_1KG=2, CABB=1)
    return drafts.do_create_draft_order(db, store, phone, lines, actor="staff:amina",
                                        note="Deliver after 5pm")


def order_count(db):
    return db.scalar(select(func.count(Order.id)))


def test_a_draft_holds_prices_for_a_customer_but_takes_no_stock(db, store):
    draft = draft_for(db, store)

    assert (draft.status, draft.number, draft.payment_method, draft.note) == (
        "draft", 1001, "", "Deliver after 5pm")
    assert draft.customer.phone == "+254712345678"
    assert [(ln.title, ln.sku, ln.unit_price, ln.quantity) for ln in draft.lines] == [
        ("Tomatoes 1kg", "TOMA-1KG", 12000, 2), ("Cabbage", "CABB", 6000, 1)]
    assert (draft.subtotal, draft.total, draft.tax_total) == (30000, 30000, 4138)
    assert len(draft.draft_token) >= 40
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "CABB")) == (80, 40)
    assert [(c.from_status, c.to_status, c.actor) for c in
            order_flow.order_history(db, store.id, draft.id)] == [
        (None, "draft", "staff:amina")]
    assert events_named(db, "order.placed") == []


def test_every_draft_gets_its_own_unguessable_token(db, store):
    first = draft_for(db, store)
    second = draft_for(db, store)
    assert first.draft_token != second.draft_token
    assert (first.number, second.number) == (1001, 1002)


def test_sending_a_draft_asks_for_the_pay_link_to_go_out(db, store):
    draft = draft_for(db, store)

    drafts.do_send_draft(db, store, draft.id, "staff:amina")

    assert events_named(db, "order.draft_sent") == [
        {"order_id": draft.id, "draft_token": draft.draft_token, "phone": "+254712345678"}]
    assert fresh(db, draft.id).status == "draft"


def test_completing_a_draft_takes_the_stock_and_places_the_order_once(db, store):
    draft = draft_for(db, store)

    order = drafts.do_complete_draft(db, store, draft.draft_token, "mpesa")
    again = drafts.do_complete_draft(db, store, draft.draft_token, "cod")

    assert again.id == order.id == draft.id
    order = fresh(db, order.id)
    assert (order.status, order.payment_method, order.financial_status) == (
        "pending_payment", "mpesa", "pending")
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "CABB")) == (78, 39)
    sold = db.scalars(select(StockMovement).where(StockMovement.reason == "sold")
                      .order_by(StockMovement.stock_id)).all()
    assert sorted((m.delta, m.order_id) for m in sold) == [(-2, order.id), (-1, order.id)]
    assert events_named(db, "order.placed") == [{"order_id": order.id, "number": 1001}]
    assert [c.to_status for c in order_flow.order_history(db, store.id, order.id)] == [
        "draft", "pending_payment"]


def test_completing_a_draft_down_to_the_threshold_records_low_stock_for_that_item_only(
        db, store):
    draft = draft_for(db, store, TOMA_1KG=2, CABB=35)  # cabbage 40 -> 5, the store's threshold

    drafts.do_complete_draft(db, store, draft.draft_token, "mpesa")

    assert events_named(db, "inventory.low_stock") == [{
        "variant_id": variant_by_sku(db, store, "CABB").id, "sku": "CABB", "on_hand": 5,
        "threshold": 5}]


def test_a_price_change_after_drafting_does_not_change_the_order(db, store):
    draft = draft_for(db, store)
    variant_by_sku(db, store, "TOMA-1KG").price = 15000
    db.commit()

    order = drafts.do_complete_draft(db, store, draft.draft_token, "mpesa")

    assert (order.total, order.lines[0].unit_price) == (30000, 12000)


def test_a_draft_that_cannot_be_covered_takes_nothing(db, store):
    draft = draft_for(db, store, TOMA_1KG=2, MANA_BUNC=3)  # managu: 3 in stock
    managu = variant_by_sku(db, store, "MANA-BUNC")
    db.execute(Stock.__table__.update().where(Stock.variant_id == managu.id).values(quantity=1))
    db.commit()

    with pytest.raises(OutOfStock) as error:
        drafts.do_complete_draft(db, store, draft.draft_token, "mpesa")

    assert error.value.message == "Sorry, only 1 Managu bunch left."
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "MANA-BUNC")) == (80, 1)
    assert fresh(db, draft.id).status == "draft"
    assert db.scalar(select(func.count(StockMovement.id))) == 0
    assert events_named(db, "order.placed") == []


def test_stock_held_by_a_shoppers_checkout_is_not_taken(db, store):
    draft = draft_for(db, store, MANA_BUNC=2)
    shopper = get_or_create_customer(db, store, "+254722000111")
    carts.do_add_to_cart(db, store, shopper.id, variant_by_sku(db, store, "MANA-BUNC").id, 2)
    checkout.do_start_checkout(db, store, shopper.id)  # holds 2 of the 3

    with pytest.raises(OutOfStock) as error:
        drafts.do_complete_draft(db, store, draft.draft_token, "mpesa")

    assert error.value.message == "Sorry, only 1 Managu bunch left."
    assert on_hand(db, "MANA-BUNC") == 3
    assert fresh(db, draft.id).status == "draft"


def test_a_draft_shares_the_stores_order_numbers_with_checkout(db, store):
    draft_for(db, store)
    shopper = get_or_create_customer(db, store, "+254722000111")
    carts.do_add_to_cart(db, store, shopper.id, variant_by_sku(db, store, "CABB").id, 1)
    assert checkout.do_place_order(db, store, shopper.id).number == 1002


def test_a_cancelled_draft_cannot_be_completed_and_never_touched_stock(db, store):
    draft = draft_for(db, store)
    order_flow.do_transition_order(db, store, draft.id, "cancel", "staff:amina")
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "CABB")) == (80, 40)

    with pytest.raises(InvalidTransition) as error:
        drafts.do_complete_draft(db, store, draft.draft_token, "mpesa")

    assert error.value.message == "Order #1001 is cancelled; it cannot be placed."
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "CABB")) == (80, 40)
    assert fresh(db, draft.id).status == "cancelled"


def test_a_completed_draft_is_not_sent_again(db, store):
    draft = draft_for(db, store)
    drafts.do_complete_draft(db, store, draft.draft_token, "mpesa")
    with pytest.raises(drafts.NotADraft) as error:
        drafts.do_send_draft(db, store, draft.id, "staff:amina")
    assert error.value.message == \
        "Order #1001 is awaiting payment; it is no longer a draft to send."
    assert events_named(db, "order.draft_sent") == []


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_a_wrong_link_finds_nothing(db, store, token):
    draft_for(db, store)
    with pytest.raises(NotFound):
        drafts.do_complete_draft(db, store, token, "mpesa")
    assert on_hand(db, "TOMA-1KG") == 80


def test_an_unknown_payment_method_is_refused(db, store):
    draft = draft_for(db, store)
    with pytest.raises(NotFound):
        drafts.do_complete_draft(db, store, draft.draft_token, "bitcoin")
    assert fresh(db, draft.id).status == "draft"


def test_cash_is_refused_for_a_draft_where_the_store_takes_none(db, store):
    draft = draft_for(db, store)
    stores.do_update_store_settings(db, store, accepts_cash=False)
    with pytest.raises(NotFound) as refused:
        drafts.do_complete_draft(db, store, draft.draft_token, "cod")
    assert (refused.value.template, refused.value.values) == (
        "Payment method '{method}' is not offered.", {"method": "cod"})
    assert fresh(db, draft.id).status == "draft"
    assert on_hand(db, "TOMA-1KG") == 80
    assert events_named(db, "order.placed") == []
    assert drafts.do_complete_draft(db, store, draft.draft_token, "mpesa").status == \
        "pending_payment"


def test_a_bad_phone_number_creates_nothing(db, store):
    with pytest.raises(InvalidPhoneNumber):
        draft_for(db, store, phone="12")
    assert order_count(db) == 0
    assert db.scalar(select(func.count(Customer.id))) == 0


@pytest.mark.parametrize("case, error", [
    ("empty", InvalidQuantity), ("zero", InvalidQuantity), ("float", InvalidQuantity),
    ("more than in stock", OutOfStock)])
def test_bad_lines_create_nothing(db, store, case, error):
    cabbage = variant_by_sku(db, store, "CABB").id  # 40 in stock
    lines = {"empty": {}, "zero": {cabbage: 0}, "float": {cabbage: 1.5},
             "more than in stock": {cabbage: 41}}[case]
    with pytest.raises(error):
        drafts.do_create_draft_order(db, store, "0712345678", lines, "staff")
    assert order_count(db) == 0
    assert db.scalar(select(func.count(Customer.id))) == 0


def test_another_stores_products_and_drafts_are_out_of_reach(db, store):
    draft = draft_for(db, store)
    other = Store(slug="other", name="Other shop", currency="KES", country="KE")
    db.add(other)
    db.commit()

    with pytest.raises(NotFound):
        drafts.do_create_draft_order(db, other, "0712345678", ids(db, store, CABB=1), "staff")
    with pytest.raises(NotFound):
        drafts.do_complete_draft(db, other, draft.draft_token, "mpesa")
    with pytest.raises(NotFound):
        drafts.do_send_draft(db, other, draft.id, "staff")
    assert order_count(db) == 1
    assert fresh(db, draft.id).status == "draft"
    assert on_hand(db, "TOMA-1KG") == 80
    assert events_named(db, "order.draft_sent") == []


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="row locks need PostgreSQL")
def test_two_taps_on_the_pay_link_at_once_place_one_order(app, db, store):
    draft = draft_for(db, store, MANA_BUNC=2)  # 3 in stock: a second take would fail
    make_session = app.extensions["duka.db"]
    barrier, results = threading.Barrier(2), []

    def tap():
        with make_session() as session:
            shop = session.get(Store, store.id)
            barrier.wait()
            results.append(drafts.do_complete_draft(session, shop, draft.draft_token,
                                                    "mpesa").id)

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert results == [draft.id, draft.id]
    assert on_hand(db, "MANA-BUNC") == 1
    assert events_named(db, "order.placed") == [{"order_id": draft.id, "number": 1001}]


def test_a_draft_is_cancelled_only_while_it_is_one(db, store):
    open_one, completed = draft_for(db, store), draft_for(db, store, CABB=1)
    drafts.do_complete_draft(db, store, completed.draft_token, "mpesa")

    drafts.do_cancel_draft(db, store, open_one.id, "staff:amina", "discarded")
    with pytest.raises(drafts.NotADraft) as error:
        drafts.do_cancel_draft(db, store, completed.id, "staff:amina", "discarded")

    assert fresh(db, open_one.id).status == "cancelled"
    assert error.value.message == \
        "Order #1002 is awaiting payment; it is no longer a draft to change."
    assert fresh(db, completed.id).status == "pending_payment"
