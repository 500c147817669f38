"""Merchant webhooks: subscriptions through the API, deliveries signed (over a timestamp, so
they cannot be replayed), retried, logged, and never across stores; URLs https to public hosts
unless the server allows plain http and local hosts. A local receiver checks each signature as
a merchant's server would."""
import hashlib
import hmac
import json
import socket
import time

import httpx
import pytest
from sqlalchemy import func, select, update

from admin import webhooks
from admin.models import WebhookDelivery, WebhookSubscription
from admin.scheduler import relay_events
from commerce import events
from commerce.models import OutboxEvent
from tests.admin.conftest import add_staff, bearer
from tests.admin.merchant_receiver import MerchantReceiver
from tests.helpers import place_order

HOOKS = "/api/v1/webhooks"


@pytest.fixture
def merchant():
    fake = MerchantReceiver().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def subscribed():
    """``on_event`` on every event it serves, as create_app wires it (added here only if
    create_app has not, and only that taken away after)."""
    added = [name for name in webhooks.EVENT_NAMES
             if webhooks.on_event not in events._handlers.get(name, [])]
    for name in added:
        events.subscribe(name, webhooks.on_event)
    yield
    for name in added:
        events._handlers[name].remove(webhooks.on_event)


# What these tests' DNS answers; any other name is looked up as usual (the local receiver's).
DNS = {"shop.example.com": ["93.184.215.14"]}


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """A DNS of the test's own (``DNS``, changeable in a test): no test asks the real one."""
    names = dict(DNS)
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in names:
            return real(host, *args, **kwargs)
        if not names[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM,
                 socket.IPPROTO_TCP, "", (address, 0)) for address in names[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def subscribe(api, headers, merchant, path="/hooks/orders", topic="orders/create") -> dict:
    answer = api.post(HOOKS, headers=headers, json={"topic": topic, "url": merchant.at(path)})
    assert answer.status_code == 201, answer.get_json()
    created = answer.get_json()
    merchant.expect(path, created["secret"])
    return created


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def deliveries(api, headers, webhook_id) -> list[dict]:
    answer = api.get(f"{HOOKS}/{webhook_id}/deliveries", headers=headers)
    assert answer.status_code == 200
    return answer.get_json()["items"]


# -- subscriptions ------------------------------------------------------------------------------
def test_the_secret_is_shown_once_and_kept_sealed(app, api, db, store, owner, merchant):
    answer = api.post(HOOKS, headers={**owner, "Idempotency-Key": "hook-1"},
                      json={"topic": "orders/paid", "url": "https://shop.example.com/duka"})
    assert answer.status_code == 201
    created = answer.get_json()
    secret = created.pop("secret")
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created == {"id": created["id"], "topic": "orders/paid", "event": "order.paid",
                       "url": "https://shop.example.com/duka", "active": True,
                       "created_at": created["created_at"]}

    row = db.get(WebhookSubscription, created["id"])
    assert row.store_id == store.id and secret not in row.secret
    assert app.extensions["duka.payments"].secrets.open(row.secret) == {"secret": secret}

    # Never again: not in the list, not in the one, not in a replay of the same request.
    assert api.get(HOOKS, headers=owner).get_json() == {"items": [created],
                                                        "next_cursor": None}
    assert api.get(f"{HOOKS}/{created['id']}", headers=owner).get_json() == created
    replay = api.post(HOOKS, headers={**owner, "Idempotency-Key": "hook-1"},
                      json={"topic": "orders/paid", "url": "https://shop.example.com/duka"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == {**created, "secret": None}
    assert count(db, WebhookSubscription) == 1


@pytest.mark.parametrize("body, field", [
    ({"topic": "orders/create", "url": "ftp://127.0.0.1/hooks"}, "url"),
    ({"topic": "orders/create", "url": "https://user:pw@shop.example.com/x"}, "url"),
    ({"topic": "orders/create", "url": "https:// shop.example.com/x"}, "url"),
    ({"topic": "orders/create", "url": "https://shop.example.com:99999/x"}, "url"),
    ({"topic": "orders/exploded", "url": "https://shop.example.com/x"}, "topic"),
    ({"topic": "order.placed", "url": "https://shop.example.com/x"}, "topic"),
    ({"topic": "orders/create"}, "url"),
    ({"topic": "orders/create", "url": 12345678901}, "url"),
    ({"topic": "orders/create", "url": "https://shop.example.com/x", "secret": "mine"},
     "secret"),
])
def test_bad_subscriptions_are_refused_and_change_nothing(api, db, owner, body, field):
    answer = api.post(HOOKS, headers=owner, json=body)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_body" and error["details"][0]["field"] == field
    assert count(db, WebhookSubscription) == 0


def test_a_url_gets_a_topic_once(api, db, owner):
    # The tests' server allows plain http and local hosts (WEBHOOKS_ALLOW_INSECURE).
    for url in ("http://localhost:8000/hooks", "http://127.0.0.1/hooks",
                "http://shop.example.com/hooks"):
        assert api.post(HOOKS, headers=owner, json={"topic": "orders/create",
                                                    "url": url}).status_code == 201
    again = api.post(HOOKS, headers=owner, json={"topic": "orders/create",
                                                 "url": "http://127.0.0.1/hooks"})
    assert again.status_code == 409
    assert again.get_json()["error"] == {"code": "webhook_exists", "details": {},
                                         "message": "This URL already gets this topic."}
    other_topic = api.post(HOOKS, headers=owner, json={"topic": "orders/paid",
                                                       "url": "http://127.0.0.1/hooks"})
    assert other_topic.status_code == 201
    assert count(db, WebhookSubscription) == 4


@pytest.mark.parametrize("url", [
    "http://shop.example.com/hooks", "http://localhost:8000/hooks", "https://localhost/hooks",
    "https://api.localhost/hooks", "https://127.0.0.1:8443/hooks", "https://[::1]/hooks",
    "https://10.0.0.5/hooks", "https://192.168.1.20/hooks", "https://169.254.169.254/latest",
    "https://0.0.0.0/hooks",
])
def test_plain_http_and_local_urls_are_refused_unless_the_server_allows_them(
        make_app, db, store, url):
    production = make_app()  # WEBHOOKS_ALLOW_INSECURE not set
    owner = bearer(production, add_staff(db, store, "+254700999888"))
    answer = production.test_client().post(HOOKS, headers=owner,
                                           json={"topic": "orders/create", "url": url})
    assert answer.status_code == 422
    assert answer.get_json()["error"] == {
        "code": "invalid_webhook_url", "details": {},
        "message": "A webhook URL must start with https:// and lead to a public host: plain "
                   "http and local addresses (localhost, 127.0.0.1, private networks) are for "
                   "development servers only (WEBHOOKS_ALLOW_INSECURE)."}
    assert count(db, WebhookSubscription) == 0
    public = production.test_client().post(HOOKS, headers=owner, json={
        "topic": "orders/create", "url": "https://shop.example.com/hooks"})
    assert public.status_code == 201 and count(db, WebhookSubscription) == 1


REFUSED = ("A webhook URL must start with https:// and lead to a public host: plain http and "
           "local addresses (localhost, 127.0.0.1, private networks) are for development "
           "servers only (WEBHOOKS_ALLOW_INSECURE).")


@pytest.mark.parametrize("found", [
    ["127.0.0.1"], ["169.254.169.254"], ["10.0.0.7"], ["93.184.215.14", "192.168.1.20"],
    ["::1"], ["fe80::1%eth0"],
])
def test_a_name_that_leads_to_a_local_address_is_refused(make_app, db, store, dns, found):
    dns["hooks.shop.example"] = found  # a public-looking name, pointed at this server's network
    production = make_app()  # WEBHOOKS_ALLOW_INSECURE not set
    owner = bearer(production, add_staff(db, store, "+254700999888"))
    answer = production.test_client().post(HOOKS, headers=owner, json={
        "topic": "orders/create", "url": "https://hooks.shop.example/orders"})
    assert answer.status_code == 422
    assert answer.get_json()["error"]["message"] == REFUSED
    assert count(db, WebhookSubscription) == 0


def test_a_name_the_dns_does_not_know_yet_may_be_subscribed(make_app, db, store, dns):
    dns["new.shop.example"] = []  # not published yet: calling it fails, and is retried
    production = make_app()
    owner = bearer(production, add_staff(db, store, "+254700999888"))
    answer = production.test_client().post(HOOKS, headers=owner, json={
        "topic": "orders/create", "url": "https://new.shop.example/orders"})
    assert answer.status_code == 201 and count(db, WebhookSubscription) == 1


def test_a_name_pointed_at_a_local_address_later_is_not_called(
        app, api, db, store, owner, dns, run_jobs):
    app.config["WEBHOOKS_ALLOW_INSECURE"] = "0"
    answer = api.post(HOOKS, headers=owner, json={"topic": "orders/create",
                                                  "url": "https://shop.example.com/hooks"})
    assert answer.status_code == 201  # public when subscribed
    dns["shop.example.com"] = ["169.254.169.254"]  # then its DNS was changed
    place_order(db, store)
    run_jobs()
    [logged] = deliveries(api, owner, answer.get_json()["id"])
    assert (logged["status"], logged["attempts"], logged["response_status"], logged["error"]) == \
        ("failed", 0, None, REFUSED)


def test_a_local_url_is_not_called_once_the_server_stops_allowing_it(
        app, api, db, store, owner, merchant, run_jobs):
    created = subscribe(api, owner, merchant)  # allowed when it was made
    app.config["WEBHOOKS_ALLOW_INSECURE"] = "0"
    place_order(db, store)
    run_jobs()
    assert merchant.received == []
    [logged] = deliveries(api, owner, created["id"])
    assert (logged["status"], logged["attempts"], logged["response_status"]) == \
        ("failed", 0, None)
    assert logged["error"].startswith("A webhook URL must start with https://")


def test_only_owners_and_managers_see_or_change_webhooks(app, api, db, store, owner, merchant):
    created = subscribe(api, owner, merchant)
    for role in ("viewer", "staff"):
        headers = bearer(app, add_staff(db, store, f"+25471100000{len(role)}", role=role))
        for answer in (api.get(HOOKS, headers=headers),
                       api.get(f"{HOOKS}/{created['id']}/deliveries", headers=headers),
                       api.post(HOOKS, headers=headers, json={
                           "topic": "orders/paid", "url": "https://shop.example.com/x"}),
                       api.delete(f"{HOOKS}/{created['id']}", headers=headers)):
            assert answer.status_code == 403
            assert answer.get_json()["error"]["code"] == "forbidden"
    manager = bearer(app, add_staff(db, store, "+254711000009", role="manager"))
    assert api.get(HOOKS, headers=manager).get_json()["items"][0]["id"] == created["id"]
    assert count(db, WebhookSubscription) == 1


def test_another_store_cannot_see_use_or_remove_a_subscription(api, db, owner, other_owner,
                                                               merchant):
    created = subscribe(api, owner, merchant)
    missing = {"error": {"code": "not_found", "details": {},
                         "message": "No such webhook subscription in this store."}}
    for answer in (api.get(f"{HOOKS}/{created['id']}", headers=other_owner),
                   api.get(f"{HOOKS}/{created['id']}/deliveries", headers=other_owner),
                   api.delete(f"{HOOKS}/{created['id']}", headers=other_owner),
                   api.get(f"{HOOKS}/999999", headers=owner)):
        assert answer.status_code == 404 and answer.get_json() == missing
    assert api.get(HOOKS, headers=other_owner).get_json() == {"items": [],
                                                              "next_cursor": None}
    assert count(db, WebhookSubscription) == 1
    assert db.get(WebhookSubscription, created["id"]).active is True


def test_removing_a_subscription_removes_its_log_and_stops_deliveries(
        api, db, store, owner, merchant, run_jobs):
    created = subscribe(api, owner, merchant)
    place_order(db, store)
    run_jobs()
    assert count(db, WebhookDelivery) == 1
    assert api.delete(f"{HOOKS}/{created['id']}", headers=owner).status_code == 204
    assert count(db, WebhookSubscription) == 0 and count(db, WebhookDelivery) == 0
    place_order(db, store, phone="+254722000111")
    run_jobs()
    assert len(merchant.received) == 1
    assert api.delete(f"{HOOKS}/{created['id']}", headers=owner).status_code == 404


# -- deliveries ---------------------------------------------------------------------------------
def test_an_order_is_posted_signed_and_logged(api, db, store, owner, merchant, run_jobs):
    created = subscribe(api, owner, merchant)
    subscribe(api, owner, merchant, "/hooks/paid", "orders/paid")  # not this event
    before = int(time.time())
    order = place_order(db, store)
    run_jobs()

    [request] = merchant.received
    assert request["path"] == "/hooks/orders" and request["status"] == 200
    # The merchant's own check, over the timestamp and the raw bytes as they came.
    timestamp = request["headers"]["X-Duka-Timestamp"]
    assert before <= int(timestamp) <= int(time.time())
    signature = hmac.new(created["secret"].encode(), f"{timestamp}.".encode() + request["raw"],
                         hashlib.sha256).hexdigest()
    assert request["verified"] and request["headers"]["X-Duka-Signature"] == f"sha256={signature}"
    assert request["headers"]["X-Duka-Topic"] == "orders/create"
    assert request["headers"]["Content-Type"] == "application/json"

    event = db.scalar(select(OutboxEvent).where(OutboxEvent.name == "order.placed"))
    [row] = db.scalars(select(WebhookDelivery)).all()
    assert json.loads(request["raw"]) == {
        "id": row.delivery_id, "topic": "orders/create",
        "created_at": event.created_at.isoformat(),
        "data": {"order_id": order.id, "number": order.number}}
    assert request["headers"]["X-Duka-Delivery"] == row.delivery_id

    [logged] = deliveries(api, owner, created["id"])
    assert logged == {"id": row.id, "delivery_id": row.delivery_id, "event_id": event.id,
                      "topic": "orders/create", "status": "delivered", "attempts": 1,
                      "response_status": 200, "error": None,
                      "created_at": logged["created_at"], "delivered_at": logged["delivered_at"]}
    assert logged["delivered_at"] is not None


def test_the_signature_covers_the_timestamp_so_a_captured_delivery_cannot_be_replayed(
        api, db, store, owner, merchant, run_jobs):
    created = subscribe(api, owner, merchant)
    place_order(db, store)
    run_jobs()
    [request] = merchant.received
    headers, raw, secret = request["headers"], request["raw"], created["secret"]
    timestamp, signature = headers["X-Duka-Timestamp"], headers["X-Duka-Signature"]
    # Not the body alone: the time is in what was signed.
    assert signature != "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    assert webhooks.sign(secret, timestamp, raw) == signature
    sent = int(timestamp)
    assert webhooks.verify(secret, timestamp, raw, signature, now=sent + 300) is True
    assert webhooks.verify(secret, timestamp, raw, signature, now=sent + 301) is False
    assert webhooks.verify(secret, str(sent + 60), raw, signature, now=sent + 60) is False
    assert webhooks.verify(secret, timestamp, raw + b" ", signature, now=sent) is False
    assert webhooks.verify(secret, "soon", raw, signature, now=sent) is False

    # Someone who captured it sends it again ten minutes later: as it was ...
    merchant.clock = lambda: sent + 600
    replay = {name: headers[name] for name in ("Content-Type", "X-Duka-Delivery",
                                               "X-Duka-Topic", "X-Duka-Timestamp",
                                               "X-Duka-Signature")}
    delivery_id = replay["X-Duka-Delivery"]
    merchant._seen.discard(delivery_id)  # even a receiver that forgot the delivery id
    assert httpx.post(merchant.at("/hooks/orders"), content=raw,
                      headers=replay).status_code == 401
    # ... or with the time made fresh: the signature no longer matches.
    fresh = {**replay, "X-Duka-Timestamp": str(sent + 600)}
    assert httpx.post(merchant.at("/hooks/orders"), content=raw,
                      headers=fresh).status_code == 401
    assert [(r["verified"], r["fresh"], r["status"]) for r in merchant.received] == [
        (True, True, 200), (True, False, 401), (False, True, 401)]
    assert len(merchant.events) == 1


def test_a_failing_receiver_gets_the_same_delivery_again_until_it_takes_it(
        api, db, store, owner, merchant, run_jobs):
    created = subscribe(api, owner, merchant)
    merchant.fail_next = 2
    place_order(db, store)
    run_jobs()

    assert [r["status"] for r in merchant.received] == [500, 500, 200]
    assert len({r["headers"]["X-Duka-Delivery"] for r in merchant.received}) == 1
    assert len({r["raw"] for r in merchant.received}) == 1  # the same signed body each time
    assert len(merchant.events) == 1
    [logged] = deliveries(api, owner, created["id"])
    assert (logged["status"], logged["attempts"], logged["response_status"],
            logged["error"]) == ("delivered", 3, 200, None)


def test_after_the_last_attempt_the_delivery_stays_failed_with_the_error(
        api, db, store, owner, merchant, run_jobs):
    created = subscribe(api, owner, merchant)
    merchant.fail_next = 100
    place_order(db, store)
    run_jobs()

    assert len(merchant.received) == webhooks.MAX_ATTEMPTS == 6
    [logged] = deliveries(api, owner, created["id"])
    assert (logged["status"], logged["attempts"], logged["response_status"],
            logged["delivered_at"]) == ("failed", 6, 500, None)
    assert logged["error"] == 'HTTP 500: {"ok": false}'


def test_a_wrong_secret_is_a_failed_delivery_not_a_processed_one(
        api, db, store, owner, merchant, run_jobs):
    created = subscribe(api, owner, merchant)
    merchant.expect("/hooks/orders", "whsec_not-the-one-duka-gave")
    place_order(db, store)
    run_jobs()
    assert merchant.events == [] and {r["status"] for r in merchant.received} == {401}
    [logged] = deliveries(api, owner, created["id"])
    assert (logged["status"], logged["response_status"]) == ("failed", 401)


def test_an_event_relayed_twice_is_delivered_once(app, api, db, store, owner, merchant,
                                                  run_jobs):
    created = subscribe(api, owner, merchant)
    place_order(db, store)
    run_jobs()
    # The relay runs again over the same events (a worker died before marking them) ...
    db.execute(update(OutboxEvent).values(relayed_at=None))
    db.commit()
    with app.app_context():
        relay_events()
        # ... and the handler is handed the same event once more.
        event = db.scalar(select(OutboxEvent).where(OutboxEvent.name == "order.placed"))
        webhooks.on_event(event)
    run_jobs()
    assert count(db, WebhookDelivery) == 1
    assert len(merchant.received) == 1 and len(deliveries(api, owner, created["id"])) == 1


def test_a_delivery_that_could_not_be_queued_goes_with_the_next_relay(
        app, api, db, store, owner, merchant, monkeypatch, run_jobs):
    created = subscribe(api, owner, merchant)
    jobs = app.extensions["duka.payments"].jobs
    enqueue = jobs.enqueue

    def redis_down_for_webhooks(func, *args, **kwargs):
        if func is webhooks.deliver_webhook:
            raise ConnectionError("Redis is down")
        return enqueue(func, *args, **kwargs)

    monkeypatch.setattr(jobs, "enqueue", redis_down_for_webhooks)
    place_order(db, store)
    run_jobs()
    assert merchant.received == [] and count(db, WebhookDelivery) == 1
    monkeypatch.setattr(jobs, "enqueue", enqueue)
    with app.app_context():
        relay_events()  # the scheduler's relay, a minute later: the event was not marked
    run_jobs()
    assert len(merchant.events) == 1
    assert deliveries(api, owner, created["id"])[0]["status"] == "delivered"


def test_a_store_gets_only_its_own_events(api, db, store, other_store, owner, other_owner,
                                          merchant, run_jobs):
    ours = subscribe(api, owner, merchant, "/ours")
    theirs = subscribe(api, other_owner, merchant, "/theirs")
    events.record(db, other_store.id, events.ORDER_PLACED, {"order_id": 77, "number": "J-1"})
    db.commit()
    run_jobs()
    assert merchant.to("/ours") == []
    assert [e["data"] for e in merchant.events] == [{"order_id": 77, "number": "J-1"}]
    assert deliveries(api, owner, ours["id"]) == []
    assert len(deliveries(api, other_owner, theirs["id"])) == 1
    rows = db.scalars(select(WebhookDelivery)).all()
    assert [(r.store_id, r.subscription_id) for r in rows] == [(other_store.id, theirs["id"])]


def test_a_switched_off_subscription_gets_nothing(api, db, store, owner, merchant, run_jobs):
    created = subscribe(api, owner, merchant)
    db.execute(update(WebhookSubscription).values(active=False))
    db.commit()
    place_order(db, store)
    run_jobs()
    assert merchant.received == [] and deliveries(api, owner, created["id"]) == []


def test_the_delivery_log_is_paged_newest_first(api, db, store, owner, merchant, run_jobs):
    created = subscribe(api, owner, merchant)
    for phone in ("+254722000111", "+254722000222", "+254722000333"):
        place_order(db, store, phone=phone)
    run_jobs()
    first = api.get(f"{HOOKS}/{created['id']}/deliveries?limit=2", headers=owner).get_json()
    rest = api.get(f"{HOOKS}/{created['id']}/deliveries?limit=2&cursor="
                   f"{first['next_cursor']}", headers=owner).get_json()
    ids = [d["id"] for d in first["items"] + rest["items"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True) and rest["next_cursor"] is None
    bad = api.get(f"{HOOKS}/{created['id']}/deliveries?limit=0", headers=owner)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_query"
