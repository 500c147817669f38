"""Africa's Talking's end-of-session notifications: recorded once, checked, and they end resume."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from channels.models import UssdSessionEnd
from commerce.demo import seed_demo_store
from commerce.models import Order

PHONE = "+254712345678"
EVENTS = "/channels/ussd/africastalking/events"
ASK = "CON Continue where you left off?\n1. Yes\n2. No"


def notification(**changes) -> dict:
    form = {"sessionId": "ATUid_A", "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "networkCode": "63902", "status": "Incomplete", "cost": "KES 0.0500",
            "durationInMillis": "45210", "hopsCount": "4", "input": "1*98",
            "lastAppResponse": "CON 7. Sukuma wiki KSh 30\n0. Back", "errorMessage": "",
            "date": "2026-11-26 13:05:44"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def rows(db) -> int:
    return db.scalar(select(func.count(UssdSessionEnd.id)))


def test_a_notification_is_recorded_with_every_field(app, db):
    response = app.test_client().post(EVENTS, data=notification())
    assert (response.status_code, response.get_json()) == (200, {"status": "recorded"})
    row = db.scalar(select(UssdSessionEnd))
    assert (row.session_id, row.service_code, row.phone, row.network_code, row.status,
            row.duration_ms, row.hops, row.input, row.last_screen, row.error_message,
            row.cost) == ("ATUid_A", "*384*123#", PHONE, "63902", "Incomplete", 45210, 4,
                          "1*98", "CON 7. Sukuma wiki KSh 30\n0. Back", None, "KES 0.0500")
    assert abs(row.received_at - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_a_failed_session_keeps_its_error_message(app, db):
    app.test_client().post(EVENTS, data=notification(status="Failed",
                                                     errorMessage="Timeout from app"))
    assert db.scalar(select(UssdSessionEnd.error_message)) == "Timeout from app"


def test_a_repeated_notification_is_answered_200_and_stored_once(app, db):
    client = app.test_client()
    client.post(EVENTS, data=notification())
    response = client.post(EVENTS, data=notification(status="Success"))
    assert (response.status_code, response.get_json()) == (200, {"status": "duplicate"})
    assert rows(db) == 1
    assert db.scalar(select(UssdSessionEnd.status)) == "Incomplete"


def test_only_the_identifying_fields_are_required(app, db):
    form = {"sessionId": "s", "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "status": "Success"}
    assert app.test_client().post(EVENTS, data=form).status_code == 200
    row = db.scalar(select(UssdSessionEnd))
    assert (row.network_code, row.duration_ms, row.hops, row.input, row.cost) == (
        None, None, None, None, None)


@pytest.mark.parametrize("missing", ["sessionId", "serviceCode", "phoneNumber", "status"])
def test_a_missing_field_is_a_400_json_error_and_nothing_is_stored(app, db, missing):
    for value in (None, "  "):
        response = app.test_client().post(EVENTS, data=notification(**{missing: value}))
        assert response.status_code == 400
        assert response.get_json() == {"error": {"code": "missing_field",
                                                 "message": f"{missing} is required."}}
    assert rows(db) == 0


@pytest.mark.parametrize("changes, message", [
    ({"status": "Done"}, "status must be one of Success, Incomplete, Failed."),
    ({"durationInMillis": "12.5"}, "durationInMillis must be a whole number."),
    ({"hopsCount": "-1"}, "hopsCount must be a whole number."),
    ({"hopsCount": "9" * 30}, "hopsCount must be a whole number."),
    ({"durationInMillis": "٣"}, "durationInMillis must be a whole number."),
    ({"sessionId": "x" * 101}, "sessionId is longer than 100 characters."),
    ({"cost": "KES " + "9" * 40}, "cost is longer than 32 characters."),
    ({"input": "1*\x00"}, "input contains a NUL character."),
])
def test_a_bad_field_is_a_400_json_error_and_nothing_is_stored(app, db, changes, message):
    response = app.test_client().post(EVENTS, data=notification(**changes))
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "invalid_field", "message": message}}
    assert rows(db) == 0


def test_a_json_body_is_refused_politely(app, db):
    response = app.test_client().post(EVENTS, json=notification())
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "missing_field"
    assert rows(db) == 0


@pytest.fixture
def shop(app, store):
    """A test client, and a USSD hop through it: the screen back."""
    client = app.test_client()

    def hop(text, session):
        return client.post("/channels/ussd/africastalking", data={
            "sessionId": session, "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "networkCode": "63902", "text": text}).get_data(as_text=True)

    return client, hop


@pytest.fixture
def dropped(shop):
    """Session ATUid_A reached the second page of products, then dropped."""
    client, hop = shop
    home = hop("", "ATUid_A")
    hop("1", "ATUid_A")
    hop("1*98", "ATUid_A")
    return client, hop, home


def test_incomplete_keeps_the_resume_offer(dropped):
    client, hop, _ = dropped
    assert client.post(EVENTS, data=notification(status="Incomplete")).status_code == 200
    assert hop("", "ATUid_B") == ASK


def test_success_clears_the_resume_offer(dropped):
    client, hop, home = dropped  # an END we sent that the session did not record, say
    assert client.post(EVENTS, data=notification(status="Success")).status_code == 200
    assert hop("", "ATUid_B") == home


def test_success_after_an_end_that_asked_to_dial_again_keeps_the_resume_offer(make_app,
                                                                              db):
    """AT reports our "Too many requests ... dial again" END as a Success too."""
    app = make_app(USSD_HOPS_PER_MINUTE=3)
    seed_demo_store(db)
    client = app.test_client()

    def hop(text, session="ATUid_A"):
        return client.post("/channels/ussd/africastalking", data={
            "sessionId": session, "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "networkCode": "63902", "text": text}).get_data(as_text=True)

    hop("")
    hop("1")
    page2 = hop("1*98")
    refused = hop("1*98*1")
    assert refused.startswith("END Too many requests.")
    ended = notification(status="Success", lastAppResponse=refused.removeprefix("END "))
    assert client.post(EVENTS, data=ended).status_code == 200
    app.extensions["duka.channels"].ratelimit.clock = lambda: 1e10  # a minute later, say
    assert hop("", "ATUid_B") == ASK
    assert hop("1", "ATUid_B") == page2


def test_success_of_a_session_we_no_longer_hold_clears_by_code_and_phone(app, dropped):
    client, hop, home = dropped
    app.extensions["duka.channels"].sessions.delete("ussd:ATUid_A")  # expired, say
    form = notification(status="Success", phoneNumber="+254 712 345678", input="2*1")
    assert client.post(EVENTS, data=form).status_code == 200
    assert hop("", "ATUid_B") == home


def test_success_of_another_session_keeps_this_ones_record(dropped):
    client, hop, _ = dropped
    form = notification(sessionId="ATUid_Z", status="Success", phoneNumber="+254 712 345678")
    assert client.post(EVENTS, data=form).status_code == 200
    assert hop("", "ATUid_B") == ASK


def test_a_repeated_notification_has_no_side_effects(dropped):
    client, hop, _ = dropped
    client.post(EVENTS, data=notification(status="Incomplete"))
    response = client.post(EVENTS, data=notification(status="Success"))  # the same session's
    assert response.get_json() == {"status": "duplicate"}
    assert hop("", "ATUid_B") == ASK


ORDER = ["", "1", "1*1", "1*1*2", "1*1*2*1", "1*1*2*1*1", "1*1*2*1*1*1"]  # Cabbage x2, pay cash
PLACED = ("END Asante! Order #1001 is placed. Pay KSh 120 cash when you collect. We will SMS "
          "you a receipt.")


def test_a_late_success_of_an_old_session_keeps_the_newer_sessions_record(shop):
    client, hop = shop
    assert [hop(text, "ATUid_Y") for text in ORDER][-1] == PLACED  # Y reaches its END
    hop("", "ATUid_B")  # B drops on the second page of products
    hop("1", "ATUid_B")
    page2 = hop("1*98", "ATUid_B")
    form = notification(sessionId="ATUid_Y", status="Success", input=ORDER[-1])
    assert client.post(EVENTS, data=form).get_json() == {"status": "recorded"}  # Y's, late
    assert hop("", "ATUid_C") == ASK  # B's record is still there
    assert hop("1", "ATUid_C") == page2


def test_after_success_a_retried_end_hop_gets_the_same_end_and_no_second_order(shop, db):
    client, hop = shop
    assert [hop(text, "ATUid_Y") for text in ORDER][-1] == PLACED
    form = notification(sessionId="ATUid_Y", status="Success", input=ORDER[-1])
    assert client.post(EVENTS, data=form).get_json() == {"status": "recorded"}
    assert hop(ORDER[-1], "ATUid_Y") == PLACED  # the gateway retries the END hop late
    assert db.scalar(select(func.count(Order.id))) == 1


def test_an_oversized_notification_gets_a_json_413(make_app):
    app = make_app(API_MAX_BODY_BYTES="1000")
    response = app.test_client().post(EVENTS, data=notification(input="1*" * 1000))
    assert (response.status_code, response.get_json()) == (413, {"error": {
        "code": "too_large", "message": "The request body is too large."}})


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_a_wrong_method_gets_a_json_405(app, method):
    response = getattr(app.test_client(), method)(EVENTS)
    assert (response.status_code, response.get_json()) == (405, {"error": {
        "code": "method_not_allowed", "message": "Use POST."}})
    assert response.headers["Allow"] == "POST"


def test_with_redis_down_a_notification_is_still_recorded(make_app, caplog):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().post(EVENTS, data=notification(status="Success"))
    assert (response.status_code, response.get_json()) == (200, {"status": "recorded"})
    with app.extensions["duka.db"]() as db:
        assert rows(db) == 1
    assert "could not clear the resume record of USSD session ATUid_A" in caplog.text
