"""What the commerce core refuses reaches the shopper in their own language, whatever they typed."""
import pytest

from commerce.customers import get_or_create_customer
from commerce.errors import DomainError, N_
from dialogs.base import Turn

PHONE = "+254712345678"
TO_THE_DISCOUNT_CODE = ["5", "2", "1", "2", "1", "2"]  # 2 x Cooking oil 1L, pickup, code


@pytest.fixture
def shopper(app, db, store):
    """A returning shopper who speaks ``locale``; ``send(typed)`` walks one session."""
    client, inputs = app.test_client(), []

    def speaking(locale: str):
        store.locales = "en,sw,fr"
        get_or_create_customer(db, store, PHONE).locale = locale
        db.commit()

        def send(*typed: str) -> str:
            screen = hop()
            for one in typed:  # one hop each, as the shopper types them
                inputs.append(one)
                screen = hop()
            return screen

        def hop() -> str:
            response = client.post("/channels/ussd/africastalking", data={
                "sessionId": "refusals", "serviceCode": "*384*123#", "phoneNumber": PHONE,
                "networkCode": "63902", "text": "*".join(inputs)})
            assert response.status_code == 200
            return response.get_data(as_text=True)

        return send

    return speaking


def test_a_code_refused_for_a_small_order_gives_the_minimum_as_french_writes_money(shopper):
    send = shopper("fr")
    send("5", "2", "1", "1", "1", "2")  # 1 x Cooking oil 1L (KSh 320), pickup, code
    assert send("karibu10").startswith(  # not "KSh 500.00", as it was for every language
        "CON KARIBU10 exige une commande d'au moins 500 KSh.\n")


def test_a_refused_discount_code_is_explained_in_kiswahili(shopper):
    send = shopper("sw")
    send(*TO_THE_DISCOUNT_CODE)
    assert send("nope").startswith("CON 'nope' si msimbo halali wa punguzo.\n")


def test_a_refused_discount_code_is_explained_in_french(shopper):
    send = shopper("fr")
    send(*TO_THE_DISCOUNT_CODE)
    assert send("nope").startswith("CON 'nope' n'est pas un code promo valide.\n")


def test_braces_typed_as_a_code_are_shown_back_not_read_as_placeholders(shopper):
    send = shopper("en")
    send(*TO_THE_DISCOUNT_CODE)
    assert send("{0}").startswith("CON '{0}' is not a valid discount code.\n")


def test_a_refusal_with_values_is_translated_then_filled_in(store):
    error = DomainError(N_("Sorry, only {count} {name} left."),
                        values={"count": 3, "name": "Managu bunch"})
    assert error.message == "Sorry, only 3 Managu bunch left."  # the API's, in English
    turn = Turn(db=None, store=store, customer=type("Shopper", (), {"locale": "sw"})())
    assert turn.t_error(error) == "Samahani, zimebaki 3 tu za Managu bunch."
