"""GET /reports/sales: paid orders added up by the database, by the store's days."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from commerce.customers import get_or_create_customer
from commerce.models import Order, Refund
from commerce.order_payments import do_record_payment
from commerce.refunds import do_refund
from payments.cod import do_mark_cash_received
from tests.admin.conftest import add_staff, bearer, error_of
from tests.helpers import place_order

REPORT = "/api/v1/reports/sales"


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def placed_at(db, order, when):
    order.created_at = at(when)
    db.commit()
    return order


def november_sales(db, store):
    """Four paid orders and an unpaid one around the first days of November 2024 (UTC+3)."""
    late = placed_at(db, place_order(db, store, phone="+254712000001"),
                     "2024-11-02 20:30:00")  # 23:30 in Nairobi: 2 November
    do_record_payment(db, store, late.id, "mpesa", late.total, "NLJ7RT61SV")
    after_midnight = placed_at(db, place_order(db, store, "cod", how="delivery",
                                               phone="+254712000002"),
                               "2024-11-02 21:30:00")  # 00:30 in Nairobi: 3 November
    do_mark_cash_received(db, store, after_midnight.id)
    first_minute = placed_at(db, place_order(db, store, phone="+254712000003"),
                             "2024-10-31 21:00:00")  # 00:00 on 1 November in Nairobi
    do_record_payment(db, store, first_minute.id, "mpesa", first_minute.total, "NLJ7RT61SW")
    too_early = placed_at(db, place_order(db, store, phone="+254712000004"),
                          "2024-10-31 20:59:59")  # 31 October in Nairobi
    do_record_payment(db, store, too_early.id, "mpesa", too_early.total, "NLJ7RT61SX")
    placed_at(db, place_order(db, store, phone="+254712000005"),
              "2024-11-03 09:00:00")  # never paid: no sale
    refund = do_refund(db, store, late.id, 5000, reason="bruised tomatoes")
    refund.created_at = at("2024-11-04 08:00:00")
    db.commit()
    return late, after_midnight, first_minute


def juma_paid_order(db, other_store):
    customer = get_or_create_customer(db, other_store, "+254733000999")
    order = Order(store_id=other_store.id, number=1001, customer_id=customer.id,
                  payment_method="mpesa", currency="KES", subtotal=999900, total=999900,
                  financial_status="paid", status="paid", created_at=at("2024-11-03 12:00:00"))
    db.add(order)
    db.commit()
    return order


def test_a_sales_report_adds_up_paid_orders_by_the_stores_days(api, db, store, owner,
                                                               other_store):
    late, after_midnight, first_minute = november_sales(db, store)
    juma_paid_order(db, other_store)
    answer = api.get(f"{REPORT}?from=2024-11-01&to=2024-11-05", headers=owner)
    assert answer.status_code == 200
    report = answer.get_json()
    gross = 34000 + 44000 + 34000
    tax = late.tax_total + after_midnight.tax_total + first_minute.tax_total
    assert tax > 0
    assert {k: v for k, v in report.items()
            if k not in ("by_day", "by_payment_method", "top_products")} == {
        "currency": "KES", "timezone": "Africa/Nairobi", "from": "2024-11-01",
        "to": "2024-11-05", "orders": 3, "gross": gross, "discounts": 0, "shipping": 10000,
        "tax": tax, "refunds": 5000, "net": gross - 5000}
    assert report["by_day"] == [
        {"date": "2024-11-01", "orders": 1, "gross": 34000, "refunds": 0, "net": 34000},
        {"date": "2024-11-02", "orders": 1, "gross": 34000, "refunds": 0, "net": 34000},
        {"date": "2024-11-03", "orders": 1, "gross": 44000, "refunds": 0, "net": 44000},
        {"date": "2024-11-04", "orders": 0, "gross": 0, "refunds": 5000, "net": -5000},
        {"date": "2024-11-05", "orders": 0, "gross": 0, "refunds": 0, "net": 0}]
    assert report["by_payment_method"] == [
        {"method": "mpesa", "orders": 2, "gross": 68000},
        {"method": "cod", "orders": 1, "gross": 44000}]
    tomatoes, onions = late.lines[0], late.lines[1]
    assert report["top_products"] == [
        {"variant_id": tomatoes.variant_id, "sku": "TOMA-1KG", "title": "Tomatoes 1kg",
         "quantity": 6, "sales": 72000},
        {"variant_id": onions.variant_id, "sku": "ONIO-1KG", "title": "Onions 1kg",
         "quantity": 3, "sales": 30000}]
    top_one = api.get(f"{REPORT}?from=2024-11-01&to=2024-11-05&top=1", headers=owner)
    assert [p["sku"] for p in top_one.get_json()["top_products"]] == ["TOMA-1KG"]


def test_one_day_and_the_default_period(api, db, store, owner):
    november_sales(db, store)
    one_day = api.get(f"{REPORT}?from=2024-11-02&to=2024-11-02", headers=owner).get_json()
    assert (one_day["orders"], one_day["gross"], one_day["refunds"],
            len(one_day["by_day"])) == (1, 34000, 0, 1)
    today = datetime.now(ZoneInfo("Africa/Nairobi")).date()
    default = api.get(REPORT, headers=owner).get_json()
    assert (default["from"], default["to"], len(default["by_day"])) == (
        str(today - timedelta(days=29)), str(today), 30)
    assert default["orders"] == 0 and default["top_products"] == []
    # From alone: the 30 days that follow.
    start = api.get(f"{REPORT}?from=2024-11-01", headers=owner).get_json()
    assert (start["to"], start["orders"]) == ("2024-11-30", 3)


def test_bad_periods_are_refused(api, owner):
    cases = [
        "from=2024-11-05&to=2024-11-01",  # backwards
        "from=2025-01-01&to=2026-01-02",  # more than 366 days
        "from=yesterday", "from=2026-02-30", "to=1999-12-31", "from=2101-01-01",
        "top=0", "top=51", "top=ten", "colour=red",
    ]
    for query in cases:
        assert error_of(api.get(f"{REPORT}?{query}", headers=owner)) == \
            (422, "invalid_query"), query
    assert api.get(f"{REPORT}?from=2025-01-01&to=2026-01-01",
                   headers=owner).status_code == 200  # 366 days is allowed


def test_who_may_read_reports(app, api, db, store):
    viewer = bearer(app, add_staff(db, store, "+254711222444", role="viewer"))
    counter = bearer(app, add_staff(db, store, "+254711222555", role="staff"))
    assert api.get(REPORT, headers=viewer).status_code == 200
    answer = api.get(REPORT, headers=counter)
    assert error_of(answer) == (403, "forbidden")
    assert answer.get_json()["error"]["message"] == "This needs the reports:read permission."


def test_another_stores_sales_are_out_of_reach(api, db, store, owner, other_store,
                                               other_owner):
    november_sales(db, store)
    juma = juma_paid_order(db, other_store)
    before = [(o.id, o.total, o.financial_status) for o in db.scalars(select(Order))]
    theirs = api.get(f"{REPORT}?from=2024-11-01&to=2024-11-05",
                     headers=other_owner).get_json()
    assert (theirs["orders"], theirs["gross"], theirs["refunds"]) == (1, juma.total, 0)
    assert theirs["by_payment_method"] == [{"method": "mpesa", "orders": 1,
                                            "gross": 999900}]
    mine = api.get(f"{REPORT}?from=2024-11-01&to=2024-11-05", headers=owner).get_json()
    assert mine["gross"] == 112000 and 999900 not in [d["gross"] for d in mine["by_day"]]
    db.expire_all()
    assert [(o.id, o.total, o.financial_status) for o in db.scalars(select(Order))] == before
    assert db.scalar(select(Refund.store_id)) == store.id
