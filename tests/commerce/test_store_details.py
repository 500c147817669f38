"""A store's details and settings changed together (all or nothing), and a channel address
removed, as services."""
import pytest
from sqlalchemy import func, select

from commerce.errors import NotFound
from commerce.models import ChannelAddress, Store
from commerce.stores import (
    InvalidStore, do_add_channel_address, do_create_store, do_remove_channel_address,
    do_update_store_details, list_channel_addresses, resolve_sms,
)


def snapshot(db, store_id):
    db.expire_all()
    store = db.get(Store, store_id)
    return {column: getattr(store, column) for column in (
        "name", "locales", "default_locale", "timezone", "contact_phone", "opening_hours",
        "tax_rate_bp", "reservation_minutes")}


def test_details_and_settings_change_together(db, store):
    do_update_store_details(db, store, name="  Mama Mboga & Co ", locales=["sw", "en"],
                            default_locale="sw", timezone="Africa/Kampala",
                            contact_phone="0711 222333", tax_rate_bp=0,
                            opening_hours={"sun": [["14:00", "18:00"], ["08:00", "12:00"]]})
    assert snapshot(db, store.id) == {
        "name": "Mama Mboga & Co", "locales": "sw,en", "default_locale": "sw",
        "timezone": "Africa/Kampala", "contact_phone": "+254711222333",
        "opening_hours": {"sun": [["08:00", "12:00"], ["14:00", "18:00"]]}, "tax_rate_bp": 0,
        "reservation_minutes": 15}
    # Languages alone are checked against the default the store has.
    do_update_store_details(db, store, locales=["fr", "sw"])
    assert snapshot(db, store.id)["locales"] == "fr,sw"
    do_update_store_details(db, store, contact_phone=None, opening_hours=None)
    assert (snapshot(db, store.id)["contact_phone"], snapshot(db, store.id)["opening_hours"]) \
        == (None, None)


@pytest.mark.parametrize("changes, field", [
    ({"name": "New name", "timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "New name", "reservation_minutes": 0}, "reservation_minutes"),
    ({"name": "New name", "locales": ["fr"]}, "default_locale"),  # "en" not among them
    ({"name": "New name", "contact_phone": "12"}, "contact_phone"),
    ({"name": "   "}, "name"),
    ({"name": "New name", "currency": "USD"}, "currency"),  # not a detail one may change
    ({"name": "New name", "opening_hours": {"mon": [["18:00", "08:00"]]}}, "opening_hours"),
    ({"name": "New name", "accepts_cash": "no"}, "accepts_cash"),
    ({"name": "New name", "accepts_cash": None}, "accepts_cash"),
])
def test_one_bad_value_changes_nothing(db, store, changes, field):
    before = snapshot(db, store.id)
    with pytest.raises(InvalidStore) as refused:
        do_update_store_details(db, store, **changes)
    assert refused.value.details == {"field": field}
    assert {column: getattr(store, column) for column in before} == before  # not even unsaved
    assert snapshot(db, store.id) == before


def test_a_channel_address_is_removed_by_its_own_store_only(db, store):
    other = do_create_store(db, "duka-ya-juma", "Duka ya Juma", "KES", "KE", "en", "en",
                            "Africa/Nairobi")
    theirs = do_add_channel_address(db, other, "sms", "22384", "JUMA")
    [ours] = [row for row in list_channel_addresses(db, store) if row.channel == "sms"]

    with pytest.raises(NotFound) as missing:
        do_remove_channel_address(db, store, theirs.id)
    assert missing.value.message == "No such channel address in this store."
    assert resolve_sms(db, "22384", "juma menu")[0].id == other.id

    do_remove_channel_address(db, store, ours.id)
    assert resolve_sms(db, "22384", "mboga menu") == (None, "mboga menu")
    assert db.scalar(select(func.count(ChannelAddress.id)).where(
        ChannelAddress.id == ours.id)) == 0
    with pytest.raises(NotFound):
        do_remove_channel_address(db, store, ours.id)
