"""Broadcasts through the API: the preview says how many a segment reaches, a broadcast reaches
exactly the consenting customers of its segment, once each, and reports how it went; never
across stores."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from channels import broadcasts
from channels.models import Broadcast, OutboundMessage
from commerce.db import utcnow
from tests.admin.conftest import add_staff, bearer, error_of
from tests.channels.test_broadcasts import FakeClock, HeldJobs, customer, paid_order

BROADCASTS = "/api/v1/broadcasts"
PREVIEW = f"{BROADCASTS}/preview"
BODY = "Fresh mangoes today! KSh 50 each."
# The demo store's customers in ``crowd``:
AMINA = "+254711000001"  # Swahili, two paid orders this month (KSh 680)
BARAKA = "+254711000002"  # no language chosen (the store's English), a paid order in 2025
DAVID = "+254711000004"  # English, no orders
NO_CONSENT = "+254711000005"
STOPPED = "+254711000006"
JUMA_CUSTOMER = "+254722000001"  # Duka ya Juma's, consenting
AT_TOKEN = "at-callback-token"  # Africa's Talking's delivery reports carry it


@pytest.fixture
def app(make_app):
    return make_app(AT_CALLBACK_TOKEN=AT_TOKEN)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(broadcasts, "CLOCK", broadcasts.Clock(fake.now, fake.sleep))
    return fake


@pytest.fixture
def held(app, monkeypatch):
    jobs = HeldJobs(app)
    monkeypatch.setattr(app.extensions["duka.channels"], "jobs", jobs)
    return jobs


@pytest.fixture
def crowd(db, store, other_store, run_jobs, fake_at):
    customer(db, store, AMINA, locale="sw")
    paid_order(db, store, AMINA)
    paid_order(db, store, AMINA)
    customer(db, store, BARAKA)
    paid_order(db, store, BARAKA, when=utcnow() - timedelta(days=400))
    customer(db, store, DAVID, locale="en")
    customer(db, store, NO_CONSENT, consent=False)
    customer(db, store, STOPPED, stopped=True)
    customer(db, other_store, JUMA_CUSTOMER, locale="en")
    run_jobs()
    fake_at.messages.clear()  # the receipts
    return store


def got_it(fake_at):
    return sorted(m["to"] for m in fake_at.messages if m["message"] == BODY)


def broadcast_count(db):
    db.expire_all()
    return db.scalar(select(func.count(Broadcast.id)))


def send(api, headers, segment=None, **fields):
    body = {"body": BODY, **({"segment": segment} if segment is not None else {}), **fields}
    return api.post(BROADCASTS, headers=headers, json=body)


def report_delivery(app, db, phone, status):
    """Africa's Talking's delivery report for the broadcast's message to ``phone``."""
    message = db.scalar(select(OutboundMessage).where(OutboundMessage.purpose == "broadcast",
                                                      OutboundMessage.recipient == phone))
    answer = app.test_client().post(
        f"/channels/sms/africastalking/delivery?token={AT_TOKEN}",
        data={"id": message.provider_message_id, "status": status, "phoneNumber": phone})
    assert answer.get_json() == {"status": "recorded"}


# -- who it reaches -----------------------------------------------------------------------------
@pytest.mark.parametrize("query, reached", [
    ("", [AMINA, BARAKA, DAVID]),
    ("?locale=sw", [AMINA]),
    ("?locale=en", [BARAKA, DAVID]),  # Baraka reads the store's default
    (f"?ordered_since={date.today() - timedelta(days=30)}", [AMINA]),
    ("?ordered_since=2020-01-01", [AMINA, BARAKA]),
    ("?min_spent=50000", [AMINA]),
    ("?min_spent=30000&locale=en", [BARAKA]),
])
def test_the_preview_counts_exactly_whom_the_broadcast_then_reaches(api, db, crowd, owner,
                                                                    fake_at, run_jobs, query,
                                                                    reached):
    preview = api.get(PREVIEW + query, headers=owner)
    assert preview.status_code == 200
    segment = preview.get_json()["segment"]
    assert preview.get_json()["recipients"] == len(reached)

    created = send(api, owner, {k: v for k, v in segment.items() if v is not None})
    run_jobs()

    assert created.status_code == 201
    assert created.get_json()["recipients"] == len(reached)
    assert got_it(fake_at) == reached
    shown = api.get(f"{BROADCASTS}/{created.get_json()['id']}", headers=owner).get_json()
    assert (shown["status"], shown["recipients"], shown["sent"], shown["pending"]) == (
        "done", len(reached), len(reached), 0)
    assert shown["segment"] == segment


def test_a_broadcast_reports_what_became_of_each_message(app, api, db, crowd, owner, held,
                                                         fake_at, run_jobs):
    created = send(api, owner, per_minute=30)
    assert created.status_code == 201
    body = created.get_json()
    assert body == {
        "id": body["id"], "body": BODY,
        "segment": {"locale": None, "ordered_since": None, "min_spent": None},
        "per_minute": 30, "status": "sending", "recipients": 3, "pending": 3, "sent": 0,
        "delivered": 0, "failed": 0, "opted_out": 0, "cancelled": 0,
        "created_at": body["created_at"], "finished_at": None}
    customer(db, crowd, DAVID, locale="en", stopped=True)  # texts STOP before his turn
    held.run_all()
    run_jobs()
    report_delivery(app, db, AMINA, "Success")
    report_delivery(app, db, BARAKA, "Failed")

    assert got_it(fake_at) == [AMINA, BARAKA]
    shown = api.get(f"{BROADCASTS}/{body['id']}", headers=owner).get_json()
    assert {k: shown[k] for k in ("status", "recipients", "pending", "sent", "delivered",
                                  "failed", "opted_out")} == {
        "status": "done", "recipients": 3, "pending": 0, "sent": 2, "delivered": 1,
        "failed": 1, "opted_out": 1}
    assert shown["finished_at"] is not None


# -- cancelling -----------------------------------------------------------------------------------
def test_a_broadcast_cancelled_midway_reaches_nobody_else(api, db, crowd, owner, held, clock,
                                                        fake_at, run_jobs):
    created = send(api, owner, per_minute=30).get_json()
    cancelled = []

    def cancel_after_the_first(pause: int) -> None:  # the merchant, while the first is out
        if pause == 1:
            cancelled.append(api.post(f"{BROADCASTS}/{created['id']}/cancel", headers=owner))

    clock.on_sleep = cancel_after_the_first
    held.run_all()
    run_jobs()

    [answer] = cancelled
    assert answer.status_code == 200
    assert got_it(fake_at) == [AMINA]  # the first, sent before the cancel; then nobody
    shown = api.get(f"{BROADCASTS}/{created['id']}", headers=owner).get_json()
    assert {k: shown[k] for k in ("status", "recipients", "pending", "sent", "cancelled")} == {
        "status": "cancelled", "recipients": 3, "pending": 0, "sent": 1, "cancelled": 2}
    assert shown["finished_at"] is not None and answer.get_json() == shown
    assert api.get(f"{BROADCASTS}?status=cancelled", headers=owner).get_json()["items"] == [
        shown]
    again = api.post(f"{BROADCASTS}/{created['id']}/cancel", headers=owner)
    assert (again.status_code, again.get_json()) == (200, shown)  # cancelling twice: the same


def test_a_broadcast_sent_to_everyone_cannot_be_cancelled(api, db, crowd, owner, fake_at,
                                                          run_jobs):
    created = send(api, owner).get_json()
    run_jobs()
    answer = api.post(f"{BROADCASTS}/{created['id']}/cancel", headers=owner)
    assert error_of(answer) == (409, "broadcast_finished")
    assert answer.get_json()["error"]["message"] == (
        "This broadcast has been sent to everyone already.")
    assert api.get(f"{BROADCASTS}/{created['id']}", headers=owner).get_json()["status"] == "done"


def test_only_the_stores_managers_can_cancel_its_broadcasts(app, api, db, crowd, owner,
                                                           other_owner, held, fake_at,
                                                           run_jobs):
    created = send(api, owner).get_json()
    cancel = f"{BROADCASTS}/{created['id']}/cancel"
    assert error_of(api.post(cancel, headers=other_owner)) == (404, "not_found")
    viewer = bearer(app, add_staff(db, crowd, "+254711000077", role="viewer"))
    assert error_of(api.post(cancel, headers=viewer)) == (403, "forbidden")
    assert error_of(api.post(f"{BROADCASTS}/999999/cancel", headers=owner)) == (404, "not_found")
    shown = api.get(f"{BROADCASTS}/{created['id']}", headers=owner).get_json()
    assert (shown["status"], shown["pending"]) == ("sending", 3)  # nothing changed
    held.run_all()
    run_jobs()
    assert got_it(fake_at) == [AMINA, BARAKA, DAVID]


def test_nobody_in_the_segment_is_a_finished_broadcast(api, db, crowd, owner, fake_at):
    answer = send(api, owner, {"min_spent": 10**9})
    assert (answer.status_code, answer.get_json()["status"],
            answer.get_json()["recipients"]) == (201, "done", 0)
    assert got_it(fake_at) == []


def test_the_same_idempotency_key_sends_once(api, db, crowd, owner, fake_at, run_jobs):
    headers = {**owner, "Idempotency-Key": "mangoes-monday"}
    first = send(api, headers, {"locale": "sw"})
    again = send(api, headers, {"locale": "sw"})
    run_jobs()

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert broadcast_count(db) == 1
    assert got_it(fake_at) == [AMINA]


# -- refused ------------------------------------------------------------------------------------
def test_a_bad_broadcast_is_refused_and_nothing_is_sent(api, db, crowd, owner, fake_at,
                                                        run_jobs):
    cases = [
        ({"body": ""}, (422, "invalid_broadcast"), "body"),
        ({"body": "x" * 481}, (422, "invalid_broadcast"), "body"),
        ({"body": BODY, "per_minute": 0}, (422, "invalid_broadcast"), "per_minute"),
        ({"body": BODY, "per_minute": 6001}, (422, "invalid_broadcast"), "per_minute"),
        ({"body": BODY, "segment": {"locale": "fr"}}, (422, "invalid_broadcast"),
         "segment.locale"),
        ({"body": BODY, "segment": {"town": "Nairobi"}}, (422, "invalid_body"), None),
        ({"body": BODY, "segment": {"min_spent": -1}}, (422, "invalid_body"), None),
        ({"body": BODY, "segment": {"min_spent": "100"}}, (422, "invalid_body"), None),
        ({"body": BODY, "segment": {"ordered_since": "last week"}}, (422, "invalid_body"),
         None),
        ({"body": BODY, "segment": {"ordered_since": "0001-01-01"}}, (422, "invalid_body"),
         None),
        ({"body": BODY, "per_minute": "60"}, (422, "invalid_body"), None),
        ({"segment": {}}, (422, "invalid_body"), None),
    ]
    for body, expected, field in cases:
        answer = api.post(BROADCASTS, headers=owner, json=body)
        assert error_of(answer) == expected, body
        if field:
            assert answer.get_json()["error"]["details"] == {"field": field}, body
    assert error_of(api.get(f"{PREVIEW}?locale=fr", headers=owner)) == (422, "invalid_broadcast")
    assert error_of(api.get(f"{PREVIEW}?min_spent=-5", headers=owner)) == (422, "invalid_query")
    assert error_of(api.get(f"{PREVIEW}?town=Nairobi", headers=owner)) == (422, "invalid_query")
    run_jobs()
    assert broadcast_count(db) == 0
    assert got_it(fake_at) == []


# -- listing ------------------------------------------------------------------------------------
def test_broadcasts_are_listed_newest_first_in_pages(api, db, crowd, owner, held):
    ids = [send(api, owner, {"min_spent": 10**9}).get_json()["id"] for _ in range(2)]
    ids.append(send(api, owner, {"locale": "sw"}).get_json()["id"])  # held: still sending

    first = api.get(f"{BROADCASTS}?limit=2", headers=owner).get_json()
    second = api.get(f"{BROADCASTS}?limit=2&cursor={first['next_cursor']}",
                     headers=owner).get_json()
    assert [b["id"] for b in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert first["items"][0]["pending"] == 1
    sending = api.get(f"{BROADCASTS}?status=sending", headers=owner).get_json()
    assert [b["id"] for b in sending["items"]] == [ids[2]]


# -- who may ------------------------------------------------------------------------------------
def test_another_store_neither_sees_nor_reaches_this_stores_broadcasts(
        api, db, crowd, other_store, owner, other_owner, fake_at, run_jobs):
    ours = send(api, owner).get_json()
    run_jobs()

    assert error_of(api.get(f"{BROADCASTS}/{ours['id']}", headers=other_owner)) == \
        (404, "not_found")
    assert api.get(BROADCASTS, headers=other_owner).get_json() == {"items": [],
                                                                   "next_cursor": None}
    assert api.get(PREVIEW, headers=other_owner).get_json()["recipients"] == 1
    assert JUMA_CUSTOMER not in got_it(fake_at)

    theirs = send(api, other_owner).get_json()
    run_jobs()
    assert theirs["recipients"] == 1
    assert error_of(api.get(f"{BROADCASTS}/{theirs['id']}", headers=owner)) == \
        (404, "not_found")
    assert [b["id"] for b in api.get(BROADCASTS, headers=owner).get_json()["items"]] == \
        [ours["id"]]
    assert got_it(fake_at) == [AMINA, BARAKA, DAVID, JUMA_CUSTOMER]


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_staff_and_viewers_look_but_cannot_send(app, api, db, crowd, owner, fake_at, run_jobs,
                                                role):
    ours = send(api, owner, {"locale": "sw"}).get_json()
    run_jobs()
    fake_at.messages.clear()
    headers = bearer(app, add_staff(db, crowd, "+254711000009", role=role))

    assert api.get(BROADCASTS, headers=headers).status_code == 200
    assert api.get(f"{BROADCASTS}/{ours['id']}", headers=headers).status_code == 200
    assert api.get(PREVIEW, headers=headers).get_json()["recipients"] == 3
    assert error_of(send(api, headers)) == (403, "forbidden")
    run_jobs()
    assert broadcast_count(db) == 1
    assert got_it(fake_at) == []
