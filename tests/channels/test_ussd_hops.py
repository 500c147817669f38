"""Africa's Talking USSD hops, through the real endpoint."""
import pytest
from sqlalchemy import func, select

from commerce.models import Cart, CartLine, Customer, Order

PHONE = "+254712345678"


@pytest.fixture
def hop(app, store):
    client = app.test_client()

    def hop(text: str, session: str = "ATUid_1", phone: str = PHONE,
            code: str = "*384*123#", **extra):
        form = {"sessionId": session, "serviceCode": code, "phoneNumber": phone,
                "networkCode": "63902", "text": text, **extra}
        response = client.post("/channels/ussd/africastalking", data=form)
        assert response.mimetype == "text/plain"
        return response.status_code, response.get_data(as_text=True)

    return hop


HOME = ("CON Karibu Mama Mboga Fresh!\n1. Vegetables\n2. Fruits\n3. Grains & Flour\n"
        "4. Dairy & Eggs\n5. Household\n6. Search\n7. My cart\n8. My orders\n9. Language\n"
        "10. Help")


def test_the_first_hop_shows_the_home_menu_and_registers_the_customer(hop, db):
    assert hop("") == (200, HOME)
    assert db.scalar(select(Customer.phone)) == PHONE


def test_a_local_phone_number_is_the_same_customer_as_its_e164_form(hop, db):
    hop("", phone="0712345678")
    hop("", session="ATUid_2", phone=PHONE)
    assert db.scalar(select(func.count(Customer.id))) == 1


def test_an_unknown_service_code_gets_a_polite_end(hop, db):
    assert hop("", code="*999*1#") == (200, "END Sorry, this USSD code is not in use.")
    assert db.scalar(select(func.count(Customer.id))) == 0


@pytest.mark.parametrize("missing", ["sessionId", "serviceCode", "phoneNumber", "text"])
def test_a_request_missing_a_field_gets_a_clear_end_and_changes_nothing(app, store, db,
                                                                        missing):
    form = {"sessionId": "s", "serviceCode": "*384*123#", "phoneNumber": PHONE, "text": ""}
    del form[missing]
    response = app.test_client().post("/channels/ussd/africastalking", data=form)
    assert response.status_code == 400
    assert response.get_data(as_text=True) == (
        "END Sorry, this request could not be read. Please dial again.")
    assert db.scalar(select(func.count(Customer.id))) == 0


def test_a_bad_phone_number_gets_a_polite_end(hop):
    assert hop("", phone="not-a-number") == (
        200, "END Sorry, we could not read your phone number.")


@pytest.mark.parametrize("bad", ["11", "abc", "x" * 2000, "😀🍅", "", "1.5", "-1"])
def test_input_matching_no_option_shows_the_menu_again_and_says_why(hop, bad):
    hop("")
    status, screen = hop(bad if bad else "*")  # "" after a hop arrives as a trailing "*"
    assert status == 200
    assert screen.startswith("CON Please reply with a number from the list.\nKaribu Mama "
                             "Mboga Fresh!\n1. Vegetables\n2. Fruits\n")


def test_a_wrong_quantity_reprompts_with_the_range_and_adds_nothing(hop, db):
    hop("")
    hop("1")  # products: 1. Cabbage
    status, screen = hop("1*1")
    assert screen == "CON Cabbage KSh 60 each.\nHow many? (1-40)\n0. Back"
    text = "1*1"
    for bad in ["41", "lots", "9" * 2000, "-3", "2.5"]:
        text += "*" + bad
        status, screen = hop(text)
        assert screen == "CON Please enter a number from 1 to 40.\nCabbage KSh 60 each.\n" \
                         "How many? (1-40)\n0. Back"
    assert db.scalar(select(func.count(CartLine.id))) == 0


def test_a_dial_string_with_extra_digits_jumps_straight_there(hop):
    status, screen = hop("1")  # *384*123*1# : pre-filled "1" on the first hop
    assert screen.startswith("CON Choose a product:\n1. Cabbage KSh 60")


def test_a_repeated_hop_is_not_applied_twice(hop, db):
    hop("")
    hop("1")
    hop("1*1")
    first = hop("1*1*2")
    again = hop("1*1*2")  # the gateway retried the same request
    assert first == again
    assert db.scalar(select(CartLine.quantity)) == 2


def test_more_and_back_page_through_products(hop):
    hop("")
    _, page1 = hop("1")
    _, page2 = hop("1*98")
    _, back = hop("1*98*0")
    assert "98. More" in page1 and page2.startswith("CON 7. ")
    assert back == page1.replace("Choose a product:\n", "", 1) or back == page1
    _, home = hop("1*98*0*0")
    assert home == HOME


def test_more_on_the_last_page_of_a_menu_shows_that_page_again(hop):
    hop("")
    hop("1")
    _, last = hop("1*98")  # Vegetables has two pages
    assert "98. More" not in last
    assert hop("1*98*98") == (200, last)
    assert hop("1*98*98*0")[1].startswith("CON Choose a product:\n1. Cabbage")


def test_a_callback_url_ending_in_a_slash_works_too(app, store):
    client = app.test_client()
    hop = client.post("/channels/ussd/africastalking/", data={
        "sessionId": "s", "serviceCode": "*384*123#", "phoneNumber": PHONE, "text": ""})
    assert (hop.status_code, hop.get_data(as_text=True)) == (200, HOME)
    ended = client.post("/channels/ussd/africastalking/events/", data={
        "sessionId": "s", "serviceCode": "*384*123#", "phoneNumber": PHONE,
        "status": "Incomplete"})
    assert (ended.status_code, ended.get_json()) == (200, {"status": "recorded"})


def test_zero_zero_goes_home_from_anywhere(hop):
    hop("")
    hop("1")
    hop("1*1")
    assert hop("1*1*00") == (200, HOME)


def test_sold_out_products_cannot_be_bought(hop):
    hop("")
    hop("2")
    status, screen = hop("2*6")  # Fruits, 6. Pineapple (sold out)
    assert screen.startswith("CON Sorry, Pineapple is sold out.\nChoose a product:")


def test_someone_elses_session_id_does_not_show_their_cart(hop, db):
    hop("")
    hop("1")
    hop("1*1")
    hop("1*1*3")  # 3 cabbages in the first shopper's cart
    # Another phone reuses the session id: it starts its own session, with its own cart.
    status, screen = hop("7", phone="+254722000111")  # 7. My cart
    assert screen == "CON Your cart is empty.\n1. Shop\n0. Back"
    assert db.scalars(select(CartLine.quantity)).all() == [3]


def test_an_at_sign_typed_on_the_handset_arrives_as_inverted_exclamation():
    from channels.ussd.hops import clean_input

    assert clean_input(" me¡duka.africa ") == "me@duka.africa"


def test_an_at_sign_passed_on_as_gsm7s_nul_byte_is_read_as_at(hop, db):
    """GSM-7 codes "@" as 0; PostgreSQL refuses a NUL byte in text."""
    typed = ["1", "1", "2", "2"]  # 2 cabbages, delivery to Kawangware
    for count in range(len(typed) + 1):
        hop("*".join(typed[:count]))
    status, screen = hop("*".join(typed + ["Flat 3, a\x00b.africa, Kawangware"]))
    assert status == 200 and screen.startswith("CON Total KSh 220")
    assert db.scalar(select(Cart.address_text)) == "Flat 3, a@b.africa, Kawangware"


@pytest.mark.parametrize("field", ["sessionId", "serviceCode", "phoneNumber"])
def test_a_nul_byte_anywhere_else_is_an_unreadable_request(app, store, db, field):
    form = {"sessionId": "s", "serviceCode": "*384*123#", "phoneNumber": PHONE, "text": ""}
    form[field] += "\x00"
    response = app.test_client().post("/channels/ussd/africastalking", data=form)
    assert (response.status_code, response.get_data(as_text=True)) == (
        400, "END Sorry, this request could not be read. Please dial again.")
    assert db.scalar(select(func.count(Customer.id))) == 0


def test_with_redis_down_the_shopper_gets_a_polite_end_not_a_500(make_app, caplog):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    with app.extensions["duka.db"]() as db:
        from commerce.demo import seed_demo_store

        seed_demo_store(db)
    response = app.test_client().post("/channels/ussd/africastalking", data={
        "sessionId": "s", "serviceCode": "*384*123#", "phoneNumber": PHONE, "text": ""})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == (
        "END Sorry, something went wrong. Please dial again in a moment.")
    assert "USSD hop failed (session s)" in caplog.text


def test_a_retried_last_hop_gets_the_same_end_and_places_no_second_order(hop, db):
    texts = ["", "1", "1*1", "1*1*1", "1*1*1*1"]  # a cabbage, pick up
    for text in texts:
        hop(text)
    _, placed = hop("1*1*1*1*1")  # pay cash
    _, retried = hop("1*1*1*1*1")  # the gateway did not hear us and asks again
    assert placed == retried
    assert placed.startswith("END Asante! Order #1001 is placed.")
    assert db.scalar(select(func.count(Order.id))) == 1


PRODUCTS = ("CON Choose a product:\n1. Cabbage KSh 60\n2. Carrots KSh 90\n3. Irish potatoes from "
            "KSh 180\n4. Managu KSh 50\n5. Onions KSh 100\n6. Spinach KSh 40\n98. More\n0. Back")
SUMMARY = "CON Total KSh 120\n1. Pay cash at pickup\n2. Discount code\n0. Back"


def test_a_late_copy_of_an_earlier_hop_shows_the_same_screen_and_places_no_order(hop, db):
    for text in ["", "1", "1*1", "1*1*2"]:  # Cabbage x2: how do you want it?
        hop(text)
    assert hop("1*1*2*1") == (200, SUMMARY)  # pickup: the shopper has not chosen to pay
    for late in ["1*1*2", "1*1", ""]:  # copies of earlier hops, arriving late
        assert hop(late) == (200, SUMMARY)
    assert db.scalar(select(func.count(Order.id))) == 0
    assert db.scalars(select(CartLine.quantity)).all() == [2]
    _, placed = hop("1*1*2*1*1")  # the shopper's real next hop still counts
    assert placed.startswith("END Asante! Order #1001 is placed.")
    assert db.scalar(select(func.count(Order.id))) == 1


def test_a_late_first_hop_does_not_spoil_the_next_ones(hop, db):
    hop("")
    assert hop("1") == (200, PRODUCTS)
    assert hop("") == (200, PRODUCTS)  # the first hop again, late
    assert hop("1*1") == (200, "CON Cabbage KSh 60 each.\nHow many? (1-40)\n0. Back")
    assert hop("1*1*2") == (200, "CON Total KSh 120\n"
                                 "How do you want your order?\n1. Pick up at Kawangware shop\n"
                                 "2. Delivery Nairobi West KSh 100\n3. Add more\n4. My cart\n"
                                 "0. Back")
    assert db.scalars(select(CartLine.quantity)).all() == [2]


def test_a_late_copy_from_before_the_gateway_lost_track_changes_nothing(hop, db):
    hop("")
    hop("1")
    assert hop("1*2") == (200, "CON Carrots 1kg KSh 90 each.\nHow many? (1-35)\n0. Back")
    products = hop("7*0")  # does not extend "1*2": its last input goes back to the products
    assert products[1].startswith("CON Choose a product:\n1. Cabbage")
    assert hop("1*2") == products  # "1*2" was sent before: not Carrots again
    assert db.scalar(select(func.count(CartLine.id))) == 0


def test_a_single_key_after_the_gateway_lost_track_is_read_even_if_typed_before(hop, db):
    hop("")
    hop("1")  # Vegetables
    carrots = "CON Carrots 1kg KSh 90 each.\nHow many? (1-35)\n0. Back"
    assert hop("2") == (200, carrots)  # only the latest input: it picks Carrots
    assert hop("1") == (200, "CON Total KSh 90\nHow do you want your "
                             "order?\n1. Pick up at Kawangware shop\n2. Delivery Nairobi West "
                             "KSh 100\n3. Add more\n4. My cart\n0. Back")  # "1" anew: a quantity
    assert db.scalars(select(CartLine.quantity)).all() == [1]


def test_a_dial_string_with_too_many_inputs_ends_politely_at_once(hop, db):
    assert hop("*".join(["1", "0"] * 10)) == (200, HOME)  # 20 inputs: in and back, ten times
    too_many = "*".join(["1", "0"] * 1000)  # took ~0.5 s of CPU, 40,000 took 17 s
    assert hop(too_many, session="ATUid_2", phone="+254722000111") == (
        200, "END Sorry, that dial string is too long. Please dial again with fewer numbers.")
    assert db.scalars(select(Customer.phone)).all() == [PHONE]  # the second was not registered
    assert hop("", session="ATUid_3", phone="+254722000111") == (200, HOME)


def test_an_oversized_body_gets_an_end_screen_not_an_html_page(make_app):
    app = make_app(API_MAX_BODY_BYTES="1000")
    response = app.test_client().post("/channels/ussd/africastalking", data={
        "sessionId": "s", "serviceCode": "*384*123#", "phoneNumber": PHONE, "text": "1" * 2000})
    assert (response.status_code, response.mimetype, response.get_data(as_text=True)) == (
        413, "text/plain", "END Sorry, this request could not be read. Please dial again.")


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_a_wrong_method_gets_405_with_an_end_screen(app, method):
    response = getattr(app.test_client(), method)("/channels/ussd/africastalking")
    assert (response.status_code, response.mimetype, response.get_data(as_text=True)) == (
        405, "text/plain", "END Sorry, this request could not be read. Please dial again.")
    assert response.headers["Allow"] == "POST"
