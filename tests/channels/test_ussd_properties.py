"""Whatever a shopper types, in any language, every USSD screen is well-formed; nothing breaks."""
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from channels.gsm import BASIC, EXTENSION, gsm7_length
from commerce.customers import get_or_create_customer
from commerce.models import Customer
from tests.conftest import TEST_DATABASE_URL

keys = st.sampled_from(["0", "00", "98", "1", "2", "3", "4", "5", "6", "7", "8", "10", "14",
                        "99", "1000"])
junk = st.one_of(
    st.text(alphabet="0123456789*#", max_size=12),
    st.text(max_size=40),  # letters, emoji, anything
    st.just("x" * 2000),
    st.just(""),
)
shoppers = count()


@pytest.mark.parametrize("lang", ["en", "sw", "fr"])
@settings(max_examples=15 if TEST_DATABASE_URL else 40, deadline=None,  # PostgreSQL: CI time
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inputs=st.lists(st.one_of(keys, junk), max_size=12))
def test_any_input_sequence_gets_well_formed_screens(app, db, store, caplog, lang, inputs):
    n = next(shoppers)
    phone = f"+2547{n:08d}"  # a new shopper each time: no resume offer, no rate limit
    customer = get_or_create_customer(db, store, phone)
    db.execute(update(Customer).where(Customer.id == customer.id).values(locale=lang))
    store.locales = "en,sw,fr"
    db.commit()
    client = app.test_client()
    text = ""
    for step, typed in enumerate([None, *inputs]):
        if step:
            text = f"{text}*{typed}" if step > 1 else typed
        response = client.post("/channels/ussd/africastalking", data={
            "sessionId": f"prop-{n}", "serviceCode": "*384*123#", "phoneNumber": phone,
            "networkCode": "63902", "text": text})
        screen = response.get_data(as_text=True)
        assert response.status_code == 200
        assert screen.startswith(("CON ", "END "))
        assert gsm7_length(screen) <= 160
        assert all(c in BASIC or c in EXTENSION for c in screen)
        if screen.startswith("END "):
            break
    assert "USSD hop failed" not in caplog.text
    caplog.clear()
