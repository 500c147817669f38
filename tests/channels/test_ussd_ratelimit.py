"""Hops per phone per minute: over the limit a shopper gets a polite END and nothing changes."""
import fakeredis
import pytest
from sqlalchemy import func, select, update

from channels.ratelimit import InProcessRateLimiter, RedisRateLimiter
from commerce.demo import seed_demo_store
from commerce.models import CartLine, Customer, Store
from tests.conftest import TEST_REDIS_URL

PHONE = "+254712345678"
TOO_MANY = "END Too many requests. Please wait a minute and dial again."


def hopper(app):
    client = app.test_client()

    def hop(text, session="s1", phone=PHONE, code="*384*123#"):
        response = client.post("/channels/ussd/africastalking", data={
            "sessionId": session, "serviceCode": code, "phoneNumber": phone,
            "networkCode": "63902", "text": text})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    return hop


def seeded(app):
    with app.extensions["duka.db"]() as db:
        seed_demo_store(db)
    return app


def at_minute(app, minute: int) -> None:
    """Put the limiter's clock (shared by the Redis and in-process limiters) in a given minute."""
    app.extensions["duka.channels"].ratelimit.clock = lambda: 1_800_000_000 + minute * 60


def test_over_the_limit_the_hop_ends_politely_and_changes_nothing(make_app, db):
    app = seeded(make_app(USSD_HOPS_PER_MINUTE=3))
    at_minute(app, 0)
    hop = hopper(app)
    hop("")
    hop("1")
    quantity = hop("1*1")  # Cabbage: how many?
    assert hop("1*1*2") == TOO_MANY
    assert hop("1*1*2") == TOO_MANY
    assert db.scalar(select(func.count(CartLine.id))) == 0
    at_minute(app, 1)  # a minute later the session carries on where it was
    assert hop("1*1") == quantity
    hop("1*1*2")
    assert db.scalars(select(CartLine.quantity)).all() == [2]


def test_a_phone_over_the_limit_is_not_even_registered(make_app, db):
    app = seeded(make_app(USSD_HOPS_PER_MINUTE=1))
    at_minute(app, 0)
    hop = hopper(app)
    assert hop("", code="*999*1#") == "END Sorry, this USSD code is not in use."
    assert hop("") == TOO_MANY
    assert db.scalar(select(func.count(Customer.id))) == 0


def test_the_limit_is_per_phone(make_app):
    app = seeded(make_app(USSD_HOPS_PER_MINUTE=1))
    at_minute(app, 0)
    hop = hopper(app)
    home = hop("")
    assert hop("", session="s2") == TOO_MANY
    assert hop("", session="s3", phone="+254722000111") == home


def test_the_default_is_60_hops_a_minute(app, store):
    at_minute(app, 0)
    hop = hopper(app)
    screens = [hop("", session=f"s{dial}") for dial in range(60)]  # 60 dials
    assert all(screen.startswith("CON ") for screen in screens)
    assert hop("", session="s60") == TOO_MANY


def test_the_setting_comes_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("USSD_HOPS_PER_MINUTE", "2")
    app = seeded(make_app())
    at_minute(app, 0)
    hop = hopper(app)
    assert hop("", session="s1").startswith("CON ")
    assert hop("", session="s2").startswith("CON ")
    assert hop("", session="s3") == TOO_MANY


def test_the_redis_limiter_counts_per_minute_and_expires_its_counters():
    redis = fakeredis.FakeRedis()
    now = [120.0]
    limiter = RedisRateLimiter(redis, clock=lambda: now[0])
    assert [limiter.hit("ussd:+254712345678", 2) for _ in range(3)] == [True, True, False]
    assert int(redis.get("duka:rate:ussd:+254712345678:2")) == 3
    assert 0 < redis.ttl("duka:rate:ussd:+254712345678:2") <= 120
    assert limiter.hit("ussd:+254722000111", 2) is True  # another phone
    now[0] = 180.0
    assert limiter.hit("ussd:+254712345678", 2) is True  # the next minute


def test_the_in_process_limiter_counts_per_minute():
    now = [59.0]
    limiter = InProcessRateLimiter(clock=lambda: now[0])
    assert [limiter.hit("k", 1), limiter.hit("k", 1)] == [True, False]
    now[0] = 60.0
    assert limiter.hit("k", 1) is True


@pytest.mark.parametrize("text, session", [("9*2*1", "s1"), ("", "s2")],
                         ids=["same session", "new dial"])
def test_a_kiswahili_shopper_over_the_limit_is_told_in_kiswahili(make_app, db, text, session):
    app = seeded(make_app(USSD_HOPS_PER_MINUTE=3))
    at_minute(app, 0)
    hop = hopper(app)
    hop("")
    hop("9")  # Language
    hop("9*2")  # Kiswahili
    assert hop(text, session=session) == (
        "END Maombi mengi mno. Tafadhali subiri dakika moja kisha piga tena.")


def test_the_gateways_copy_of_the_order_hop_gets_its_end_even_over_the_limit(make_app, db):
    """Over the limit, a copy of a hop already answered still gets its answer: "Too many
    requests" in place of the order's confirmation would have the shopper order again."""
    app = seeded(make_app(USSD_HOPS_PER_MINUTE=7))
    at_minute(app, 0)
    hop = hopper(app)
    for text in ["", "1", "1*1", "1*1*1", "1*1*1*1", "1*1*1*1*1"]:
        hop(text)
    placed = hop("1*1*1*1*1*1")
    assert placed.startswith("END Asante! Order #1001 is placed.")
    assert hop("1*1*1*1*1*1") == placed  # the 8th hop: a copy, answered as before
    assert hop("1*1*1*1*1") == placed  # a late copy of an earlier hop: the same
    assert hop("", session="s2") == TOO_MANY  # a new dial is refused


def test_a_new_dial_over_the_limit_is_refused_in_the_stores_language(make_app, db):
    app = seeded(make_app(USSD_HOPS_PER_MINUTE=1))
    db.execute(update(Store).values(default_locale="sw"))
    db.commit()
    at_minute(app, 0)
    hop = hopper(app)
    assert hop("").startswith("CON Karibu")
    assert hop("", session="s2") == (
        "END Maombi mengi mno. Tafadhali subiri dakika moja kisha piga tena.")


@pytest.mark.skipif(not TEST_REDIS_URL, reason="waiting for a session's lock needs Redis")
def test_a_hop_that_waited_for_its_sessions_lock_is_counted_once(make_app):
    app = seeded(make_app(USSD_HOPS_PER_MINUTE=3))
    at_minute(app, 0)
    hop = hopper(app)
    hop("")  # 1
    redis = app.extensions["duka.admin"].redis
    redis.set("duka:session:lock:ussd:s1", "a copy still running", px=300)
    assert hop("1").startswith("CON Choose a product")  # 2, after waiting for the lock
    assert hop("1*1").startswith("CON Cabbage")  # 3: within the limit
