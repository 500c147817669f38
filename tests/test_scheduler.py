from datetime import timedelta

from sqlalchemy import func, select, update

from commerce import carts, inventory
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.models import Cart, OutboxEvent, Reservation
from tests.helpers import variant_by_sku


def test_scheduler_once_gives_back_expired_holds_and_reports_abandoned_carts(app, db, store):
    customer = get_or_create_customer(db, store, "+254712345678")
    cabbage = variant_by_sku(db, store, "CABB")
    carts.do_add_to_cart(db, store, customer.id, cabbage.id, 2)
    cart = carts.get_active_cart(db, store.id, customer.id)
    inventory.reserve_stock(db, store, cart.id, {cabbage.id: 2})
    long_ago = utcnow() - timedelta(hours=3)
    db.execute(update(Reservation).values(expires_at=long_ago))
    db.execute(update(Cart).values(last_activity_at=long_ago))
    db.commit()

    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])

    assert result.exit_code == 0, result.output
    assert "Ran every timed job once." in result.output
    db.expire_all()
    assert db.scalar(select(func.count(Reservation.id))) == 0
    assert inventory.available_quantity(db, store.id, cabbage.id) == 40
    abandoned = db.scalar(select(OutboxEvent).where(OutboxEvent.name == "cart.abandoned"))
    assert abandoned.payload == {"cart_id": cart.id, "customer_id": customer.id}
    assert abandoned.relayed_at is not None  # the relay ran too


def test_scheduler_without_redis_says_what_to_do(make_app):
    result = make_app(REDIS_URL="").test_cli_runner().invoke(args=["scheduler"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output


def test_the_schedule_includes_the_jobs_wsgi_adds(app):
    from admin.scheduler import schedule_of
    from channels.broadcasts import resume_broadcasts

    every = {job: seconds for job, seconds in schedule_of(app)}
    assert every[resume_broadcasts] == 60  # a broadcast whose worker died is resumed
