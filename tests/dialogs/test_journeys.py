"""Every shopper journey on a feature phone, over the real USSD endpoint, hop by hop."""
import pytest
from sqlalchemy import func, select

from commerce import fulfilments, order_payments
from commerce.models import CartLine, Customer, Order

PHONE = "+254712345678"


class Phone:
    """Dials the app as Africa's Talking does and counts hops (requests) from the dial."""

    def __init__(self, client, phone=PHONE):
        self.client, self.phone, self.calls = client, phone, 0
        self.hops, self.inputs = 0, []

    def dial(self) -> str:
        self.calls += 1
        self.hops, self.inputs = 0, []
        return self._hop()

    def send(self, typed: str) -> str:
        self.inputs.append(typed)
        return self._hop()

    def _hop(self) -> str:
        self.hops += 1
        response = self.client.post("/channels/ussd/africastalking", data={
            "sessionId": f"journey-{self.phone}-{self.calls}", "serviceCode": "*384*123#",
            "phoneNumber": self.phone, "networkCode": "63902", "text": "*".join(self.inputs)})
        screen = response.get_data(as_text=True)
        assert response.status_code == 200 and len(screen) <= 160, screen
        return screen


@pytest.fixture
def phone(app, store):
    return Phone(app.test_client())


def test_a_first_purchase_by_delivery_takes_seven_hops(phone, db):
    """The longest first purchase: the address is typed, not chosen."""
    phone.dial()
    phone.send("1")  # Vegetables
    phone.send("1")  # Cabbage
    assert phone.send("1") == (  # one: in the cart, and straight on to how it comes
        "CON Total KSh 60\nHow do you want your order?\n"
        "1. Pick up at Kawangware shop\n2. Delivery Nairobi West KSh 100\n3. Add more\n"
        "4. My cart\n0. Back")
    phone.send("2")  # Delivery Nairobi West
    phone.send("Kawangware stage 56, blue gate")
    screen = phone.send("1")  # Pay cash on delivery
    assert screen == ("END Asante! Order #1001 is placed. Pay KSh 160 cash on delivery. "
                      "We will SMS you a receipt.")
    assert phone.hops == 7


def test_a_first_purchase_by_pickup_takes_six_hops(phone, db):
    phone.dial()
    phone.send("1")  # Vegetables
    phone.send("1")  # Cabbage
    phone.send("1")  # one
    phone.send("1")  # Pick up at Kawangware shop
    screen = phone.send("1")  # Pay cash at pickup
    assert screen == ("END Asante! Order #1001 is placed. Pay KSh 60 cash when you collect. "
                      "We will SMS you a receipt.")
    assert phone.hops == 6


def test_shopping_on_after_adding_keeps_the_cart_and_checks_out_from_it(phone, db):
    phone.dial()
    for typed in ["1", "1", "1"]:  # a cabbage
        phone.send(typed)
    assert phone.send("3").startswith("CON Karibu Mama Mboga Fresh!\n1. Vegetables")  # Add more
    for typed in ["1", "2", "2"]:  # two carrots
        last = phone.send(typed)
    assert last.startswith("CON Total KSh 240\n")
    assert phone.send("4") == ("CON 1x Cabbage KSh 60\n2x Carrots 1kg KSh 180\nTotal KSh 240\n"
                               "1. Checkout\n2. Add more\n3. Change quantities\n0. Back")
    assert phone.send("1").startswith("CON How do you want your order?\n1. Pick up at")
    phone.send("1")  # pickup
    assert phone.send("1").startswith("END Asante! Order #1001 is placed. Pay KSh 240 cash")
    order = db.scalar(select(Order).where(Order.number == 1001))
    assert [(line.title, line.quantity) for line in order.lines] == [
        ("Cabbage", 1), ("Carrots 1kg", 2)]


def test_a_reorder_takes_four_hops_with_the_same_delivery(phone, db):
    phone.dial()
    for typed in ["1", "1", "2", "2", "Kawangware stage 56, blue gate", "1"]:
        last = phone.send(typed)
    assert last.startswith("END Asante! Order #1001 is placed. Pay KSh 220 cash on delivery.")

    assert phone.dial().startswith("CON Karibu")
    assert phone.send("8") == "CON Your orders:\n1. #1001 KSh 220 Awaiting payment\n0. Back"
    assert phone.send("1") == ("CON #1001 Awaiting payment\n2x Cabbage\nTotal KSh 220\n"
                               "1. Order again, pay cash\n0. Back")
    assert phone.send("1") == ("END Asante! Order #1002 is placed. Pay KSh 220 cash on delivery. "
                               "We will SMS you a receipt.")
    assert phone.hops == 4
    again = db.scalar(select(Order).where(Order.number == 1002))
    assert (again.delivery_method, again.address_text, again.total) == (
        "delivery", "Kawangware stage 56, blue gate", 22000)


def test_my_orders_show_status_and_tracking(phone, db, store):
    phone.dial()
    for typed in ["1", "1", "1", "1", "1", "1"]:
        phone.send(typed)
    order = db.scalar(select(Order))
    order_payments.do_record_payment(db, store, order.id, "cod", order.total, "CASH-1")
    fulfilments.do_fulfil(db, store, order.id, carrier="Boda", tracking_number="MB-778")
    phone.dial()
    assert phone.send("8") == "CON Your orders:\n1. #1001 KSh 60 Ready for pickup\n0. Back"
    assert phone.send("1") == ("CON #1001 Ready for pickup\nTracking MB-778\n1x Cabbage\n"
                               "Total KSh 60\n1. Order again, pay cash\n0. Back")


def test_no_orders_yet_is_said_plainly(phone):
    phone.dial()
    assert phone.send("8") == "CON You have no orders yet.\n0. Back"


def test_search_forgives_typos(phone):
    phone.dial()
    assert phone.send("6") == "CON Type what you are looking for:\n0. Back"
    assert phone.send("tomatos") == "CON Found:\n1. Tomatoes\n0. Back"
    assert phone.send("1") == ("CON Tomatoes: choose a size\n1. 1kg KSh 120\n2. 500g KSh 65\n"
                               "0. Back")


def test_search_forgives_two_letters_swapped(phone):
    phone.dial()
    phone.send("6")
    # one slip on a keypad: WRatio alone found only Managu
    assert phone.send("mnago") == "CON Found:\n1. Mangoes\n2. Managu\n0. Back"


def test_search_says_when_nothing_matches_and_asks_again(phone):
    phone.dial()
    phone.send("6")
    assert phone.send("zz") == ("CON Please type at least 3 letters.\n"
                                "Type what you are looking for:\n0. Back")
    assert phone.send("xylophone") == ("CON Nothing matches xylophone.\n"
                                       "Type what you are looking for:\n0. Back")


def test_the_cart_can_be_changed_and_emptied(phone, db):
    phone.dial()
    for typed in ["1", "1", "3"]:  # 3 cabbages
        phone.send(typed)
    assert phone.send("4") == ("CON 3x Cabbage KSh 180\nTotal KSh 180\n1. Checkout\n"  # My cart
                               "2. Add more\n3. Change quantities\n0. Back")
    assert phone.send("3") == "CON Change which item?\n1. 3x Cabbage KSh 180\n0. Back"
    assert phone.send("1") == "CON 3x Cabbage\n1. Change quantity\n2. Remove\n0. Back"
    assert phone.send("1") == "CON How many Cabbage? (1-40)\n0. Back"
    assert phone.send("x") == ("CON Please enter a number from 1 to 40.\n"  # not 1 to 99
                               "How many Cabbage? (1-40)\n0. Back")
    assert phone.send("5").startswith("CON 5x Cabbage KSh 300\nTotal KSh 300\n")
    assert db.scalar(select(CartLine.quantity)) == 5
    phone.send("3")
    phone.send("1")
    assert phone.send("2") == "CON Your cart is empty.\n1. Shop\n0. Back"
    assert db.scalar(select(func.count(CartLine.id))) == 0


def test_a_discount_code_comes_off_before_paying(phone, db):
    phone.dial()
    for typed in ["5", "2", "1", "2"]:  # Household, Cooking oil, 1L, 2
        screen = phone.send(typed)
    assert screen.startswith("CON Total KSh 640\nHow do you want your order?")
    assert phone.send("1") == ("CON Total KSh 640\n1. Pay cash at pickup\n2. Discount code\n"
                               "0. Back")
    assert phone.send("2") == "CON Type your discount code:\n0. Back"
    assert phone.send("nope").startswith("CON 'nope' is not a valid discount code.")
    assert phone.send("karibu10") == ("CON Total KSh 576\nafter KARIBU10 -KSh 64\n"
                                      "1. Pay cash at pickup\n2. Remove discount code\n0. Back")
    assert phone.send("1").startswith("END Asante! Order #1001 is placed. Pay KSh 576")


def test_a_discount_code_can_be_taken_off_and_an_empty_one_is_asked_for_again(phone, db):
    phone.dial()
    for typed in ["5", "2", "1", "2", "1", "2"]:  # 2 Cooking oil 1L, pickup, Discount code
        phone.send(typed)
    assert phone.send("") == ("CON Please type your discount code.\n"
                              "Type your discount code:\n0. Back")
    phone.send("karibu10")
    assert phone.send("2") == ("CON KARIBU10 is taken off your cart.\nTotal KSh 640\n"
                               "1. Pay cash at pickup\n2. Discount code\n0. Back")
    assert phone.send("1").startswith("END Asante! Order #1001 is placed. Pay KSh 640")
    assert db.scalar(select(Order.discount_code)) is None


def test_language_is_chosen_and_remembered(phone, db):
    phone.dial()
    assert phone.send("9") == "CON Choose your language:\n1. English\n2. Kiswahili\n0. Back"
    phone.send("2")
    assert db.scalar(select(Customer.locale)) == "sw"


def test_help_gives_the_stores_phone(phone):
    phone.dial()
    assert phone.send("10") == ("CON Mama Mboga Fresh\nCall us: +254700123456\n"
                                "0 back, 00 home, 98 more\n0. Back")
    assert phone.send("0").startswith("CON Karibu Mama Mboga Fresh!")
