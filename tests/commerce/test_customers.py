"""Customers within a store: registering, details, consent and addresses; never across stores."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from commerce.customers import (
    InvalidAddress,
    InvalidCustomer,
    do_add_address,
    do_delete_address,
    do_set_marketing_consent,
    do_update_customer,
    get_customer,
    get_or_create_customer,
    list_addresses,
)
from commerce.db import utcnow
from commerce.errors import NotFound
from commerce.models import Address, Customer, OutboxEvent
from commerce.stores import do_create_store

PHONE = "+254712345678"


@pytest.fixture
def customer(db, store):
    return get_or_create_customer(db, store, PHONE)


@pytest.fixture
def other_store(db):
    return do_create_store(db, "duka-la-juma", "Duka la Juma", "KES", "KE", "sw", ["sw"],
                           "Africa/Nairobi")


def registered_events(db) -> list[tuple[str, dict]]:
    return [(e.name, e.payload) for e in db.scalars(
        select(OutboxEvent).where(OutboxEvent.name == "customer.registered"))]


# -- registering --------------------------------------------------------------------------------
def test_a_new_customer_is_registered_with_an_event(db, store, customer):
    assert registered_events(db) == [
        ("customer.registered", {"customer_id": customer.id, "phone": PHONE})]
    assert db.scalar(select(OutboxEvent.store_id)) == store.id


def test_a_returning_customer_is_not_registered_again(db, store, customer):
    assert get_or_create_customer(db, store, PHONE).id == customer.id
    assert len(registered_events(db)) == 1


def test_the_same_number_is_a_separate_customer_in_another_store(db, store, other_store,
                                                                 customer):
    theirs = get_or_create_customer(db, other_store, PHONE)
    assert theirs.id != customer.id and theirs.store_id == other_store.id
    assert len(registered_events(db)) == 2


# -- details ------------------------------------------------------------------------------------
def test_name_and_language_are_updated(db, store, customer):
    do_update_customer(db, store, customer.id, name="  Wanjiku   Kamau ", locale="SW")
    db.expire_all()
    assert (customer.name, customer.locale) == ("Wanjiku Kamau", "sw")
    do_update_customer(db, store, customer.id, locale="en")  # the name stays
    assert (customer.name, customer.locale) == ("Wanjiku Kamau", "en")


@pytest.mark.parametrize("changes, message", [
    ({"locale": "fr"}, "Mama Mboga Fresh offers these languages: en, sw."),
    ({"locale": "xx"}, "Mama Mboga Fresh offers these languages: en, sw."),
    ({"name": "x" * 121}, "A name is text of at most 120 characters."),
    ({"name": 42}, "A name is text of at most 120 characters."),
])
def test_bad_details_are_refused_and_change_nothing(db, store, customer, changes, message):
    with pytest.raises(InvalidCustomer) as caught:
        do_update_customer(db, store, customer.id, **{"name": "Wanjiku", **changes})
    assert (caught.value.code, caught.value.message) == ("invalid_customer", message)
    assert not db.dirty
    assert (customer.name, customer.locale) == ("", None)


def test_marketing_consent_is_stamped(db, store, customer):
    before = utcnow()
    do_set_marketing_consent(db, store, customer.id, True)
    db.expire_all()
    assert customer.marketing_consent is True
    assert before <= customer.consent_updated_at <= utcnow() + timedelta(seconds=1)
    first = customer.consent_updated_at
    do_set_marketing_consent(db, store, customer.id, False)
    assert customer.marketing_consent is False and customer.consent_updated_at >= first


def test_consent_must_be_yes_or_no(db, store, customer):
    with pytest.raises(InvalidCustomer) as caught:
        do_set_marketing_consent(db, store, customer.id, "yes")
    assert caught.value.message == "Consent is yes or no."
    assert (customer.marketing_consent, customer.consent_updated_at) == (False, None)


# -- addresses ----------------------------------------------------------------------------------
def test_addresses_are_added_listed_and_deleted(db, store, customer):
    home = do_add_address(db, store, customer.id, " Kawangware,  stage 56, blue gate ",
                          landmark="opposite Naivas", label="Home", town="Kawangware")
    work = do_add_address(db, store, customer.id, "Kilimani, Argwings Kodhek Rd")
    assert [(a.text, a.landmark, a.label, a.town) for a in
            list_addresses(db, store, customer.id)] == [
        ("Kawangware, stage 56, blue gate", "opposite Naivas", "Home", "Kawangware"),
        ("Kilimani, Argwings Kodhek Rd", "", "", ""),
    ]
    do_delete_address(db, store, customer.id, home.id)
    assert [a.id for a in list_addresses(db, store, customer.id)] == [work.id]


@pytest.mark.parametrize("fields, field, message", [
    ({"text": "   "}, "text", "Please describe where to deliver."),
    ({"text": "x" * 301}, "text", "The text is at most 300 characters."),
    ({"landmark": "x" * 201}, "landmark", "The landmark is at most 200 characters."),
    ({"label": "x" * 41}, "label", "The label is at most 40 characters."),
    ({"town": "x" * 81}, "town", "The town is at most 80 characters."),
    ({"town": None}, "town", "The town must be text."),
])
def test_a_bad_address_is_refused_and_nothing_is_added(db, store, customer, fields, field,
                                                       message):
    with pytest.raises(InvalidAddress) as caught:
        do_add_address(db, store, customer.id, **{"text": "Kawangware", **fields})
    assert (caught.value.code, caught.value.details["field"], caught.value.message) == (
        "invalid_address", field, message)
    assert db.scalar(select(func.count(Address.id))) == 0


def test_a_customer_keeps_at_most_twenty_addresses(db, store, customer):
    for n in range(20):
        do_add_address(db, store, customer.id, f"Plot {n}")
    with pytest.raises(InvalidAddress):
        do_add_address(db, store, customer.id, "Plot 21")
    assert db.scalar(select(func.count(Address.id))) == 20


# -- tenancy: another store's customer is not found ---------------------------------------------
@pytest.fixture
def theirs(db, other_store):
    customer = get_or_create_customer(db, other_store, "+254722000111")
    address = do_add_address(db, other_store, customer.id, "Githurai 45")
    return customer, address


def test_another_stores_customer_cannot_be_read(db, store, theirs):
    with pytest.raises(NotFound):
        get_customer(db, store, theirs[0].id)


def test_another_stores_customer_cannot_be_updated(db, store, theirs):
    with pytest.raises(NotFound):
        do_update_customer(db, store, theirs[0].id, name="Mallory")
    assert db.scalar(select(Customer.name).where(Customer.id == theirs[0].id)) == ""


def test_another_stores_customer_consent_cannot_be_set(db, store, theirs):
    with pytest.raises(NotFound):
        do_set_marketing_consent(db, store, theirs[0].id, True)
    assert db.scalar(select(Customer.marketing_consent).where(
        Customer.id == theirs[0].id)) is False


def test_another_stores_customer_gets_no_address(db, store, theirs):
    with pytest.raises(NotFound):
        do_add_address(db, store, theirs[0].id, "Kawangware")
    assert db.scalar(select(func.count(Address.id))) == 1


def test_another_stores_addresses_cannot_be_listed(db, store, theirs):
    with pytest.raises(NotFound):
        list_addresses(db, store, theirs[0].id)


def test_another_stores_address_cannot_be_deleted(db, store, customer, theirs):
    with pytest.raises(NotFound):
        do_delete_address(db, store, theirs[0].id, theirs[1].id)
    with pytest.raises(NotFound):  # nor through one of this store's own customers
        do_delete_address(db, store, customer.id, theirs[1].id)
    assert db.scalar(select(func.count(Address.id))) == 1


def test_an_address_cannot_be_deleted_through_another_customer(db, store, customer):
    mine = do_add_address(db, store, customer.id, "Kawangware")
    neighbour = get_or_create_customer(db, store, "+254733000222")
    with pytest.raises(NotFound):
        do_delete_address(db, store, neighbour.id, mine.id)
    assert db.scalar(select(func.count(Address.id))) == 1
