"""Shared USSD codes over the real endpoint: the first number picks the store."""
import pytest
from sqlalchemy import func, select

from commerce.models import CartLine, Customer
from commerce.stores import do_add_channel_address, do_create_store

PHONE = "+254712345678"
SHARED = "*384*500#"
ASK = "CON Enter the store number:"
WRONG = "CON Sorry, no store has that number.\nEnter the store number:"
MBOGA_MENU = ("\n1. Vegetables\n2. Fruits\n3. Grains & Flour\n4. Dairy & Eggs\n5. Household\n"
              "6. Search\n7. My cart{count}\n8. My orders\n9. Language\n10. Help")
MBOGA_HOME = "CON Karibu Mama Mboga Fresh!" + MBOGA_MENU.format(count="")
JUMA_HOME = ("CON Karibu Duka la Juma!\n1. Shop\n2. Search\n3. My cart\n4. My orders\n"
             "5. Language\n6. Help")  # a store with no categories yet


@pytest.fixture
def juma(db, store):
    """A second store; both it (number 45) and the demo store (number 7) are on the shared code."""
    juma = do_create_store(db, "duka-la-juma", "Duka la Juma", "KES", "KE", "en", ["en", "sw"],
                           "Africa/Nairobi")
    do_add_channel_address(db, juma, "ussd", SHARED, "45")
    do_add_channel_address(db, store, "ussd", SHARED, "7")
    return juma


@pytest.fixture
def hop(app, juma):
    client = app.test_client()

    def hop(text: str, session: str = "ATUid_1", phone: str = PHONE, code: str = SHARED):
        response = client.post("/channels/ussd/africastalking", data={
            "sessionId": session, "serviceCode": code, "phoneNumber": phone,
            "networkCode": "63902", "text": text})
        assert response.status_code == 200 and response.mimetype == "text/plain"
        body = response.get_data(as_text=True)
        assert len(body) <= 160
        return body

    return hop


def test_a_shared_code_asks_for_the_store_number_first(hop, db):
    assert hop("") == ASK
    assert db.scalar(select(func.count(Customer.id))) == 0  # no store yet, so no customer
    assert hop("45") == JUMA_HOME
    assert db.scalar(select(Customer.store_id)) is not None


def test_a_store_number_typed_with_leading_zeros_is_the_same_store(hop):
    assert hop("045") == JUMA_HOME
    assert hop("007*7", session="ATUid_3") == "CON Your cart is empty.\n1. Shop\n0. Back"
    assert hop("007*7*0", session="ATUid_3") == MBOGA_HOME


def test_after_the_store_is_picked_the_journey_is_as_on_a_dedicated_code(hop, db, store):
    hop("")
    hop("7")
    assert hop("7*1").startswith("CON Choose a product:\n1. Cabbage KSh 60\n")
    assert hop("7*1*1") == "CON Cabbage KSh 60 each.\nHow many? (1-40)\n0. Back"
    added = ("CON Total KSh 120\nHow do you want your order?\n"
             "1. Pick up at Kawangware shop\n2. Delivery Nairobi West KSh 100\n3. Add more\n"
             "4. My cart\n0. Back")
    assert hop("7*1*1*2") == added
    assert hop("7*1*1*2") == added  # a retried hop is not applied twice
    assert db.scalars(select(CartLine.quantity)).all() == [2]
    assert hop("7*1*1*2*00") == "CON Karibu Mama Mboga Fresh!" + MBOGA_MENU.format(count=" (2)")


def test_the_store_number_in_the_dial_string_picks_the_store_straight_away(hop):
    assert hop("45") == JUMA_HOME  # *384*500*45#
    assert hop("7*1", session="ATUid_2").startswith(  # *384*500*7*1#
        "CON Choose a product:\n1. Cabbage KSh 60\n")
    assert hop("7*1*98", session="ATUid_2").startswith("CON 7. ")


def test_a_wrong_number_is_asked_again_politely(hop):
    assert hop("") == ASK
    assert hop("99") == WRONG
    assert hop("99") == WRONG  # the gateway retried
    assert hop("99*abc") == WRONG
    assert hop("99*abc*" + "9" * 300) == WRONG
    assert hop("99*abc*" + "9" * 300 + "*7") == MBOGA_HOME
    assert hop("99*abc*" + "9" * 300 + "*7*7") == "CON Your cart is empty.\n1. Shop\n0. Back"


def test_a_wrong_number_in_the_dial_string_is_asked_again(hop):
    assert hop("99*2") == WRONG  # *384*500*99*2#
    assert hop("99*2*45") == JUMA_HOME


def test_each_store_on_the_shared_code_has_its_own_customer(hop, db, store, juma):
    hop("7")
    hop("45", session="ATUid_2")
    assert sorted(db.scalars(select(Customer.store_id)).all()) == sorted([store.id, juma.id])


def test_another_phone_reusing_the_session_starts_afresh(hop, db):
    hop("")
    hop("7")
    hop("7*1")
    hop("7*1*1")
    hop("7*1*1*3")  # 3 cabbages in the first shopper's cart
    # *384*500*7*7# from another phone with the same session id: its own cart, not theirs
    assert hop("7*7", phone="+254722000111") == "CON Your cart is empty.\n1. Shop\n0. Back"
    assert hop("", phone="+254733000222") == ASK  # nor their screen
    assert db.scalars(select(CartLine.quantity)).all() == [3]


def test_the_dedicated_code_still_works_beside_the_shared_one(hop):
    assert hop("", code="*384*123#") == MBOGA_HOME


def test_an_unknown_code_still_ends_politely(hop):
    assert hop("45", code="*384*999#") == "END Sorry, this USSD code is not in use."


PRODUCTS = ("CON Choose a product:\n1. Cabbage KSh 60\n2. Carrots KSh 90\n3. Irish potatoes from "
            "KSh 180\n4. Managu KSh 50\n5. Onions KSh 100\n6. Spinach KSh 40\n98. More\n0. Back")


def test_a_late_copy_of_the_store_pick_changes_nothing(hop, db):
    hop("")
    hop("7")
    assert hop("7*1") == PRODUCTS
    assert hop("7") == PRODUCTS  # the hop that picked the store, arriving late
    assert hop("") == PRODUCTS  # and the one that asked for the number
    assert hop("7*1*1") == "CON Cabbage KSh 60 each.\nHow many? (1-40)\n0. Back"
    hop("7*1*1*2")
    assert db.scalars(select(CartLine.quantity)).all() == [2]


def test_a_late_copy_of_a_wrong_store_number_changes_nothing(hop):
    hop("")
    assert hop("99") == WRONG
    assert hop("99*7") == MBOGA_HOME
    assert hop("99*7*1") == PRODUCTS
    assert hop("99") == PRODUCTS  # late: not an input on the product list
    assert hop("99*7*1*1") == "CON Cabbage KSh 60 each.\nHow many? (1-40)\n0. Back"


def test_a_late_first_hop_while_picking_the_store_changes_nothing(hop):
    assert hop("") == ASK
    assert hop("99") == WRONG
    assert hop("") == WRONG  # late: the screen stays, and so does the text "99"
    assert hop("99*45") == JUMA_HOME


def test_too_many_pre_filled_inputs_after_the_store_number_end_politely(hop, db):
    assert hop("7*" + "*".join(["1", "0"] * 11)) == (
        "END Sorry, that dial string is too long. Please dial again with fewer numbers.")
    assert db.scalar(select(func.count(Customer.id))) == 0
