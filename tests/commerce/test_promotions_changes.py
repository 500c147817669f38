"""A merchant's discount codes as services: made and changed by ``do_*`` (checked with what a
change leaves), never deleted, only switched off; checkout honours what is set."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from commerce import promotions
from commerce.errors import NotFound
from commerce.models import DiscountCode
from commerce.promotions import DiscountCodeTaken, DiscountRefused, InvalidDiscount
from commerce.stores import do_create_store

EAT = timezone(timedelta(hours=3))


def codes(db):
    db.expire_all()
    return [(d.id, d.store_id, d.code, d.kind, d.value, d.min_order, d.starts_at, d.ends_at,
             d.usage_limit, d.per_customer_limit, d.first_order_only, d.active, d.times_used)
            for d in db.scalars(select(DiscountCode).order_by(DiscountCode.id))]


def karibu(db, store) -> DiscountCode:
    return db.scalar(select(DiscountCode).where(DiscountCode.store_id == store.id))


def test_a_code_is_made_canonical_and_checkout_takes_it(db, store):
    code = promotions.do_create_discount_code(
        db, store, " sikukuu 200 ", kind="fixed", value=20000, min_order=100000,
        starts_at=datetime(2026, 12, 20, tzinfo=EAT), ends_at=datetime(2027, 1, 2, tzinfo=EAT),
        usage_limit=100, per_customer_limit=1)
    db.expire_all()
    assert (code.code, code.kind, code.value, code.min_order, code.starts_at, code.ends_at,
            code.usage_limit, code.per_customer_limit, code.first_order_only, code.active,
            code.times_used) == (
        "SIKUKUU200", "fixed", 20000, 100000, datetime(2026, 12, 19, 21, tzinfo=timezone.utc),
        datetime(2027, 1, 1, 21, tzinfo=timezone.utc), 100, 1, False, True, 0)
    christmas = datetime(2026, 12, 25, tzinfo=timezone.utc)
    assert promotions.check_discount_code(db, store, "sikukuu200", None, 150000,
                                          now=christmas).id == code.id


def test_a_change_is_checked_with_what_it_leaves(db, store):
    code = karibu(db, store)  # KARIBU10: 10 %, first orders only
    code.times_used = 4
    db.commit()
    before = codes(db)
    cases = [
        (dict(value=10_001), "A percentage is at most 10000 basis points (100 %)."),
        (dict(kind="percentage", value=20_000), "A percentage is at most 10000 basis points "
                                                "(100 %)."),
        (dict(ends_at=datetime(2027, 1, 1, tzinfo=timezone.utc),
              starts_at=datetime(2027, 1, 1, tzinfo=timezone.utc)),
         "ends_at must come after starts_at."),
        (dict(usage_limit=3), "It has been used 4 times already: usage_limit cannot be lower."),
        (dict(value=0), "value must be a whole number from 1 to 2147483647."),
        (dict(kind="bogof"), "A discount is one of percentage, fixed."),
        (dict(starts_at=datetime(2027, 1, 1)), "starts_at must be a time with its time zone."),
        (dict(active="no"), "active must be true or false."),
        (dict(code="50%OFF"), "A code is 1 to 40 letters and digits (and _ or -), like "
                              "KARIBU10."),
        (dict(times_used=0), "A discount has no times_used."),
    ]
    for changes, message in cases:
        with pytest.raises(InvalidDiscount) as refused:
            promotions.do_update_discount_code(db, store, code.id, **changes)
        assert refused.value.message == message, changes
    assert codes(db) == before

    changed = promotions.do_update_discount_code(db, store, code.id, kind="fixed",
                                                 value=20_000, usage_limit=4, code="karibu-20")
    assert (changed.code, changed.kind, changed.value, changed.usage_limit) == \
        ("KARIBU-20", "fixed", 20_000, 4)


def test_a_code_is_switched_off_and_on_never_deleted(db, store):
    code = karibu(db, store)
    promotions.do_update_discount_code(db, store, code.id, active=False)
    with pytest.raises(DiscountRefused):
        promotions.check_discount_code(db, store, "KARIBU10", None, 60000)
    promotions.do_update_discount_code(db, store, code.id, active=True)
    assert promotions.check_discount_code(db, store, "karibu10", None, 60000).id == code.id
    assert len(codes(db)) == 1


def test_a_code_is_once_per_store(db, store):
    other = do_create_store(db, "duka-ya-juma", "Duka ya Juma", "KES", "KE", "en", "en",
                            "Africa/Nairobi")
    spare = promotions.do_create_discount_code(db, store, "SPARE", kind="fixed", value=100)
    before = codes(db)
    for attempt in (lambda: promotions.do_create_discount_code(db, store, "karibu 10",
                                                              kind="fixed", value=100),
                    lambda: promotions.do_update_discount_code(db, store, spare.id,
                                                              code="KARIBU10")):
        with pytest.raises(DiscountCodeTaken) as taken:
            attempt()
        assert taken.value.message == "This store already has the code KARIBU10."
    assert codes(db) == before
    # Another store may have its own KARIBU10, and cannot reach this store's codes.
    assert promotions.do_create_discount_code(db, other, "KARIBU10", kind="percentage",
                                              value=500).store_id == other.id
    with pytest.raises(NotFound):
        promotions.do_update_discount_code(db, other, spare.id, value=1)
    with pytest.raises(NotFound):
        promotions.find_discount_code(db, other.id, spare.id)
