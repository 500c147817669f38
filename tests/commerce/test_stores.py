"""Creating and configuring stores, opening hours, and the channel addresses shoppers use."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from commerce.models import ChannelAddress, Store
from commerce.stores import (
    ChannelAddressTaken,
    InvalidChannelAddress,
    InvalidStore,
    UssdRoute,
    do_add_channel_address,
    do_create_store,
    do_update_store_settings,
    find_store_by_ussd_code,
    is_open,
    resolve_sms,
    resolve_ussd,
    resolve_whatsapp,
)

LAGOS = dict(slug="iya-basira", name="Iya Basira Foods", currency="NGN", country="NG",
             default_locale="en", locales=["en", "yo", "ha"], timezone="Africa/Lagos",
             contact_phone="0803 123 4567")


def make(db, **changes) -> Store:
    return do_create_store(db, **{**LAGOS, **changes})


def count_stores(db) -> int:
    return db.scalar(select(func.count(Store.id)))


# -- creating -----------------------------------------------------------------------------------
def test_a_store_is_created_with_its_details_made_canonical(db):
    store = make(db, slug=" Iya-Basira ", currency="ngn", country="ng", locales="en, YO,ha",
                 tax_rate_bp=750, opening_hours={"mon": [["08:00", "18:00"]]})
    db.expire_all()
    store = db.get(Store, store.id)
    assert (store.slug, store.name, store.currency, store.country) == (
        "iya-basira", "Iya Basira Foods", "NGN", "NG")
    assert (store.default_locale, store.locale_list, store.timezone) == (
        "en", ["en", "yo", "ha"], "Africa/Lagos")
    assert store.contact_phone == "+2348031234567"
    assert (store.tax_rate_bp, store.opening_hours) == (750, {"mon": [["08:00", "18:00"]]})
    assert (store.reservation_minutes, store.prices_include_tax) == (15, True)


@pytest.mark.parametrize("changes, field, message", [
    ({"slug": "ab"}, "slug",
     "A store's web name is 3 to 60 letters, digits and single hyphens, like mama-mboga."),
    ({"slug": "mama--mboga"}, "slug",
     "A store's web name is 3 to 60 letters, digits and single hyphens, like mama-mboga."),
    ({"slug": "mama mboga"}, "slug",
     "A store's web name is 3 to 60 letters, digits and single hyphens, like mama-mboga."),
    ({"name": "   "}, "name", "A store's name is 1 to 120 characters."),
    ({"name": "x" * 121}, "name", "A store's name is 1 to 120 characters."),
    ({"currency": "NAIRA"}, "currency", "'NAIRA' is not an ISO 4217 currency code like KES."),
    ({"currency": "XYZ"}, "currency", "'XYZ' is not an ISO 4217 currency code like KES."),
    ({"country": "NGA"}, "country", "'NGA' is not an ISO 3166 country code like KE."),
    ({"country": "ZZ"}, "country", "'ZZ' is not an ISO 3166 country code like KE."),
    ({"locales": ["en", "de"]}, "locales",
     "Languages must be among en, sw, fr, ha, yo, am, zu, pt."),
    ({"locales": []}, "locales", "Languages must be among en, sw, fr, ha, yo, am, zu, pt."),
    ({"locales": None}, "locales", "Give the store's languages as a list, like [\"en\", \"sw\"]."),
    ({"default_locale": "sw"}, "default_locale",
     "The default language must be one the store offers."),
    ({"timezone": "Africa/Wakanda"}, "timezone",
     "'Africa/Wakanda' is not an IANA time zone like Africa/Nairobi."),
    ({"timezone": "localtime"}, "timezone",
     "'localtime' is not an IANA time zone like Africa/Nairobi."),
    ({"timezone": "../../etc/passwd"}, "timezone",
     "'../../etc/passwd' is not an IANA time zone like Africa/Nairobi."),
    ({"contact_phone": "12345"}, "contact_phone", "'12345' is not a valid phone number"),
    ({"tax_rate_bp": 10001}, "tax_rate_bp", "tax_rate_bp must be a whole number from 0 to 10000."),
    ({"colour": "red"}, "colour",
     "'colour' is not a store setting; settings are tax_rate_bp, reservation_minutes, "
     "abandoned_cart_minutes, low_stock_threshold, prices_include_tax, accepts_cash, "
     "opening_hours."),
])
def test_a_bad_store_is_refused_with_the_field_and_nothing_is_created(db, changes, field,
                                                                      message):
    with pytest.raises(InvalidStore) as caught:
        make(db, **changes)
    assert caught.value.code == "invalid_store"
    assert (caught.value.details["field"], caught.value.message) == (field, message)
    assert count_stores(db) == 0


def test_a_taken_slug_is_refused(db, store):
    with pytest.raises(InvalidStore) as caught:
        make(db, slug="mama-mboga")
    assert caught.value.message == "The web name mama-mboga is taken."
    assert count_stores(db) == 1


def test_a_store_needs_no_contact_phone(db):
    assert make(db, contact_phone=None).contact_phone is None
    assert make(db, slug="iya-2", contact_phone="  ").contact_phone is None


# -- settings -----------------------------------------------------------------------------------
def test_settings_are_updated(db, store):
    hours = {"sat": [["09:00", "13:00"]], "mon": [["14:00", "18:00"], ["08:00", "12:30"]]}
    do_update_store_settings(db, store, tax_rate_bp=0, prices_include_tax=False,
                             reservation_minutes=30, abandoned_cart_minutes=120,
                             low_stock_threshold=2, opening_hours=hours)
    db.expire_all()
    store = db.get(Store, store.id)
    assert (store.tax_rate_bp, store.prices_include_tax, store.reservation_minutes,
            store.abandoned_cart_minutes, store.low_stock_threshold) == (0, False, 30, 120, 2)
    assert store.opening_hours == {"mon": [["08:00", "12:30"], ["14:00", "18:00"]],
                                   "sat": [["09:00", "13:00"]]}


@pytest.mark.parametrize("settings, message", [
    ({"tax_rate_bp": -1}, "tax_rate_bp must be a whole number from 0 to 10000."),
    ({"tax_rate_bp": 16.0}, "tax_rate_bp must be a whole number from 0 to 10000."),
    ({"tax_rate_bp": True}, "tax_rate_bp must be a whole number from 0 to 10000."),
    ({"reservation_minutes": 0}, "reservation_minutes must be a whole number from 1 to 1440."),
    ({"abandoned_cart_minutes": 10081},
     "abandoned_cart_minutes must be a whole number from 1 to 10080."),
    ({"low_stock_threshold": -1},
     "low_stock_threshold must be a whole number from 0 to 1000000."),
    ({"prices_include_tax": "yes"}, "prices_include_tax must be true or false."),
    ({"opening_hours": {"monday": [["08:00", "18:00"]]}},
     "'monday' is not a day: use mon, tue, wed, thu, fri, sat, sun."),
    ({"opening_hours": {"mon": [["8:00", "18:00"]]}},
     "'8:00' is not a time like 08:00 (24-hour clock)."),
    ({"opening_hours": {"mon": [["08:00", "24:01"]]}},
     "'24:01' is not a time like 08:00 (24-hour clock)."),
    ({"opening_hours": {"mon": [["24:00", "24:00"]]}},
     "'24:00' is not a time like 08:00 (24-hour clock)."),
    ({"opening_hours": {"mon": [["18:00", "08:00"]]}},
     "On mon, 18:00 to 08:00 closes before it opens."),
    ({"opening_hours": {"mon": [["08:00", "13:00"], ["12:00", "18:00"]]}},
     "On mon, the opening hours overlap."),
    ({"opening_hours": {"mon": [["08:00"]]}}, "Give mon as a list of [opens, closes] pairs."),
    ({"opening_hours": {"mon": "08:00-18:00"}}, "Give mon as a list of [opens, closes] pairs."),
    ({"opening_hours": [["08:00", "18:00"]]},
     "Opening hours are given per day, like {\"mon\": [[\"08:00\", \"18:00\"]]}."),
])
def test_bad_settings_are_refused_and_change_nothing(db, store, settings, message):
    with pytest.raises(InvalidStore) as caught:
        do_update_store_settings(db, store, **{"low_stock_threshold": 9, **settings})
    assert (caught.value.code, caught.value.message) == ("invalid_store", message)
    assert not db.dirty  # not even in memory
    assert (store.low_stock_threshold, store.tax_rate_bp) == (5, 1600)
    assert store.opening_hours["mon"] == [["07:00", "20:00"]]


# -- opening hours ------------------------------------------------------------------------------
def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_is_open_reads_the_hours_in_the_store_timezone(db, store):
    # Demo store: Mon-Sat 07:00-20:00 in Nairobi (UTC+3). 2026-03-02 is a Monday.
    assert is_open(store, utc(2026, 3, 2, 3, 59)) is False  # 06:59 Nairobi
    assert is_open(store, utc(2026, 3, 2, 4, 0)) is True  # 07:00
    assert is_open(store, utc(2026, 3, 2, 16, 59, 59)) is True  # 19:59:59
    assert is_open(store, utc(2026, 3, 2, 17, 0)) is False  # 20:00: closed
    assert is_open(store, utc(2026, 3, 1, 12, 0)) is False  # Sunday: no hours, closed
    assert is_open(store, utc(2026, 3, 7, 22, 0)) is False  # Sat 22:00 UTC = Sun 01:00


def test_is_open_with_split_hours_and_a_day_until_midnight(db, store):
    do_update_store_settings(db, store, opening_hours={
        "mon": [["08:00", "12:00"], ["14:00", "24:00"]]})
    assert is_open(store, utc(2026, 3, 2, 10, 0)) is False  # 13:00 Nairobi: lunch
    assert is_open(store, utc(2026, 3, 2, 20, 59)) is True  # 23:59
    assert is_open(store, utc(2026, 3, 2, 21, 0)) is False  # Tuesday 00:00


def test_a_store_without_hours_is_always_open(db, store):
    do_update_store_settings(db, store, opening_hours=None)
    assert is_open(store, utc(2026, 3, 1, 2, 0)) is True


def test_is_open_refuses_a_naive_time(store):
    with pytest.raises(ValueError):
        is_open(store, datetime(2026, 3, 2, 10, 0))


# -- channel addresses --------------------------------------------------------------------------
def second_store(db, slug="iya-basira") -> Store:
    return make(db, slug=slug)


def test_a_dedicated_ussd_code_takes_every_input(db, store):
    route = resolve_ussd(db, "*384*123#", ["2", "1"])
    assert route == UssdRoute(store, ["2", "1"], asks_store_number=False, shared=False)
    assert find_store_by_ussd_code(db, " *384*123# ") == store


def test_a_shared_code_picks_the_store_by_its_number(db, store):
    lagos = second_store(db)
    do_add_channel_address(db, lagos, "ussd", "*384*500#", "45")
    do_add_channel_address(db, store, "ussd", "*384*500#", "7")
    assert resolve_ussd(db, "*384*500#", ["45", "2"]) == UssdRoute(lagos, ["2"], False, True)
    assert resolve_ussd(db, "*384*500#", ["7"]) == UssdRoute(store, [], False, True)
    assert resolve_ussd(db, "*384*500#", [" 45 "]).store == lagos


def test_a_shared_code_without_a_number_asks_for_one(db):
    do_add_channel_address(db, second_store(db), "ussd", "*384*500#", "45")
    assert resolve_ussd(db, "*384*500#", []) == UssdRoute(None, [], True, True)


def test_a_shared_code_with_an_unknown_number_has_no_store(db):
    do_add_channel_address(db, second_store(db), "ussd", "*384*500#", "45")
    assert resolve_ussd(db, "*384*500#", ["46", "2"]) == UssdRoute(None, ["2"], False, True)


def test_an_unknown_code_has_no_store(db, store):
    assert resolve_ussd(db, "*999#", ["1"]) == UssdRoute(None, ["1"], False, False)


def test_a_dedicated_code_cannot_be_shared_and_a_shared_one_cannot_be_dedicated(db, store):
    lagos = second_store(db)
    with pytest.raises(ChannelAddressTaken) as caught:
        do_add_channel_address(db, lagos, "ussd", "*384*123#", "45")
    assert (caught.value.code, caught.value.message) == (
        "channel_address_taken", "*384*123# is dedicated to one store; it cannot be shared.")
    do_add_channel_address(db, lagos, "ussd", "*384*500#", "45")
    with pytest.raises(ChannelAddressTaken) as caught:
        do_add_channel_address(db, store, "ussd", "*384*500#")
    assert caught.value.message == (
        "*384*500# is shared by other stores; it cannot be dedicated to one.")
    with pytest.raises(ChannelAddressTaken) as caught:
        do_add_channel_address(db, store, "ussd", "*384*500#", "45")
    assert caught.value.message == "*384*500# 45 is already in use."
    with pytest.raises(ChannelAddressTaken) as caught:
        do_add_channel_address(db, lagos, "ussd", "*384*123#")
    assert caught.value.message == "*384*123# is already in use."
    assert db.scalar(select(func.count(ChannelAddress.id)).where(
        ChannelAddress.channel == "ussd")) == 2


def test_sms_keywords_are_case_insensitive(db, store):
    lagos = second_store(db)
    row = do_add_channel_address(db, lagos, "sms", "22384", "basira")
    assert row.selector == "BASIRA"
    assert resolve_sms(db, "22384", "Basira  2 amala ") == (lagos, "2 amala")
    assert resolve_sms(db, "22384", "mboga") == (store, "")
    assert resolve_sms(db, "22384", "MBOGA, cart") == (store, "cart")
    assert resolve_sms(db, "22384", "hello there") == (None, "hello there")
    assert resolve_sms(db, "99999", "mboga 1") == (None, "mboga 1")
    assert resolve_sms(db, "22384", "   ") == (None, "")
    with pytest.raises(ChannelAddressTaken):
        do_add_channel_address(db, store, "sms", "22384", "Basira")


def test_whatsapp_numbers_belong_to_one_store(db, store):
    do_add_channel_address(db, store, "whatsapp", "106540352242922")
    assert resolve_whatsapp(db, "106540352242922") == store
    assert resolve_whatsapp(db, "999") is None
    with pytest.raises(ChannelAddressTaken):
        do_add_channel_address(db, second_store(db), "whatsapp", "106540352242922")


@pytest.mark.parametrize("channel, address, selector, message", [
    ("ussd", "384*123#", "", "'384*123#' is not a USSD code like *384*123#."),
    ("ussd", "*384*12a#", "", "'*384*12a#' is not a USSD code like *384*123#."),
    ("ussd", "*384*500#", "4a", "A store number on a shared USSD code is digits, like 45."),
    ("ussd", "*384*500#", "045", "A store number on a shared USSD code is digits, like 45."),
    ("sms", "22-384", "MBOGA", "'22-384' is not an SMS short code like 22384."),
    ("sms", "22384", "", "An SMS keyword is one word of letters and digits, like MBOGA."),
    ("sms", "22384", "two words", "An SMS keyword is one word of letters and digits, like MBOGA."),
    ("whatsapp", "abc", "", "'abc' is not a WhatsApp phone-number id."),
    ("whatsapp", "1065403", "X", "A WhatsApp number belongs to one store: no selector."),
    ("telegram", "1", "", "'telegram' is not a channel: use ussd, sms or whatsapp."),
])
def test_a_bad_channel_address_is_refused(db, store, channel, address, selector, message):
    with pytest.raises(InvalidChannelAddress) as caught:
        do_add_channel_address(db, store, channel, address, selector)
    assert (caught.value.code, caught.value.message) == ("invalid_channel_address", message)
    assert db.scalar(select(func.count(ChannelAddress.id))) == 2  # the demo store's two
