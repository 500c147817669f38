"""Whatever a shopper types, every USSD screen is well-formed and nothing breaks."""
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.gsm import BASIC, EXTENSION, gsm7_length

keys = st.sampled_from(["0", "00", "98", "1", "2", "3", "4", "5", "8", "14", "99", "1000"])
junk = st.one_of(
    st.text(alphabet="0123456789*#", max_size=12),
    st.text(max_size=40),  # letters, emoji, anything
    st.just("x" * 2000),
    st.just(""),
)
session_ids = count()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inputs=st.lists(st.one_of(keys, junk), max_size=12))
def test_any_input_sequence_gets_well_formed_screens(app, store, caplog, inputs):
    client = app.test_client()
    n = next(session_ids)
    session, phone = f"prop-{n}", f"+2547{n:08d}"  # a shopper per example: no rate limit
    text = ""
    for step, typed in enumerate([None, *inputs]):
        if step:
            text = f"{text}*{typed}" if step > 1 else typed
        response = client.post("/channels/ussd/africastalking", data={
            "sessionId": session, "serviceCode": "*384*123#", "phoneNumber": phone,
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
