"""Customers: a phone number within a store, with a name, a language, marketing consent and
delivery addresses. Every lookup is scoped by the store: another store's ids are ``NotFound``."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from commerce import events
from commerce.db import utcnow
from commerce.errors import N_, DomainError, NotFound
from commerce.models import Address, Customer, Store

MAX_ADDRESSES = 20  # per customer; a shopper needs a few, a script adding thousands does not
ADDRESS_FIELDS = {"text": 300, "landmark": 200, "label": 40, "town": 80}  # column lengths
NAME_LENGTH = 120


class InvalidCustomer(DomainError):
    code = "invalid_customer"


class InvalidAddress(DomainError):
    code = "invalid_address"


# -- finding and registering --------------------------------------------------------------------
def get_customer(session: Session, store: Store, customer_id: int) -> Customer:
    customer = session.scalar(select(Customer).where(Customer.id == customer_id,
                                                     Customer.store_id == store.id))
    if customer is None:
        raise NotFound("No such customer.")
    return customer


_BY_PHONE = select(Customer).where(Customer.store_id == bindparam("store_id"),
                                   Customer.phone == bindparam("phone"))  # built once: hot


def find_customer_by_phone(session: Session, store: Store, phone_e164: str) -> Customer | None:
    return session.scalar(_BY_PHONE, {"store_id": store.id, "phone": phone_e164})


def get_or_create_customer(session: Session, store: Store, phone_e164: str) -> Customer:
    """The customer with this number in this store; created (and committed, with a
    ``customer.registered`` event) on first contact."""
    customer = find_customer_by_phone(session, store, phone_e164)
    if customer is not None:
        return customer
    customer = Customer(store_id=store.id, phone=phone_e164)
    session.add(customer)
    try:
        session.flush()
        events.record(session, store.id, events.CUSTOMER_REGISTERED,
                      {"customer_id": customer.id, "phone": phone_e164})
        session.commit()
    except IntegrityError:  # the same person dialled twice at once; the other request won
        session.rollback()
        customer = find_customer_by_phone(session, store, phone_e164)
    return customer


def known_customer(session: Session, store: Store, customer_id: int, phone_e164: str,
                   locale: str | None) -> Customer:
    """A customer found earlier in the same conversation, in ``session`` without a query.

    The channel keeps the id, phone and language between hops (the rest loads from the database
    if read), so a hop need not look the customer up again. It is the caller's word that the
    customer is this store's with this phone.
    """
    customer = Customer(id=customer_id, store_id=store.id, phone=phone_e164, locale=locale)
    make_transient_to_detached(customer)  # as if loaded by a query: unset columns load on read
    return session.merge(customer, load=False)


# -- details ------------------------------------------------------------------------------------
def check_customer_name(name: str) -> str:
    name = " ".join(name.split()) if isinstance(name, str) else None
    if name is None or len(name) > NAME_LENGTH:
        raise InvalidCustomer(f"A name is text of at most {NAME_LENGTH} characters.",
                              field="name")
    return name


def check_customer_locale(store: Store, locale: str) -> str:
    code = locale.strip().lower() if isinstance(locale, str) else ""
    if code not in store.locale_list:
        raise InvalidCustomer(f"{store.name} offers these languages: "
                              f"{', '.join(store.locale_list)}.", field="locale")
    return code


def do_update_customer(session: Session, store: Store, customer_id: int,
                       name: str | None = None, locale: str | None = None) -> Customer:
    """Change the name and/or language (one the store offers); ``None`` leaves it as it is."""
    customer = get_customer(session, store, customer_id)
    new_name = check_customer_name(name) if name is not None else None
    new_locale = check_customer_locale(store, locale) if locale is not None else None
    if new_name is not None:
        customer.name = new_name
    if new_locale is not None:
        customer.locale = new_locale
    session.commit()
    return customer


def do_set_marketing_consent(session: Session, store: Store, customer_id: int,
                             consent: bool) -> Customer:
    """Record a yes or no to marketing messages, and when it was given."""
    if not isinstance(consent, bool):
        raise InvalidCustomer("Consent is yes or no.", field="consent")
    customer = get_customer(session, store, customer_id)
    customer.marketing_consent = consent
    customer.consent_updated_at = utcnow()
    session.commit()
    return customer


# -- addresses ----------------------------------------------------------------------------------
def check_address(text: str, landmark: str = "", label: str = "", town: str = "") -> dict:
    """Free text with a landmark (``"Kawangware, stage 56, blue gate"``, ``"opposite Naivas"``):
    how addresses work where streets have no numbers. Spaces tidied; the text is required."""
    given = {"text": text, "landmark": landmark, "label": label, "town": town}
    clean = {}
    for name, value in given.items():
        if not isinstance(value, str):
            raise InvalidAddress(f"The {name} must be text.", field=name)
        value = " ".join(value.split())
        if len(value) > ADDRESS_FIELDS[name]:
            raise InvalidAddress(f"The {name} is at most {ADDRESS_FIELDS[name]} characters.",
                                 field=name)
        clean[name] = value
    if not clean["text"]:
        raise InvalidAddress("Please describe where to deliver.", field="text")
    return clean


def list_addresses(session: Session, store: Store, customer_id: int) -> list[Address]:
    get_customer(session, store, customer_id)
    return list(session.scalars(select(Address).where(
        Address.store_id == store.id, Address.customer_id == customer_id).order_by(Address.id)))


def get_address(session: Session, store: Store, customer_id: int, address_id: int) -> Address:
    address = session.scalar(select(Address).where(
        Address.id == address_id, Address.store_id == store.id,
        Address.customer_id == customer_id))
    if address is None:
        raise NotFound("No such address.")
    return address


def do_add_address(session: Session, store: Store, customer_id: int, text: str,
                   landmark: str = "", label: str = "", town: str = "") -> Address:
    customer = get_customer(session, store, customer_id)
    fields = check_address(text, landmark, label, town)
    if len(list_addresses(session, store, customer.id)) >= MAX_ADDRESSES:
        raise InvalidAddress(f"A customer can keep at most {MAX_ADDRESSES} addresses; "
                             "delete one first.")
    address = Address(store_id=store.id, customer_id=customer.id, **fields)
    session.add(address)
    session.commit()
    return address


def do_remember_address(session: Session, store: Store, customer_id: int,
                        text: str) -> Address:
    """The address a shopper just typed at checkout, kept as their latest (``list_addresses``
    ends with it). Typed again, it moves to the end rather than being kept twice; with
    ``MAX_ADDRESSES`` kept, the oldest is forgotten, as a feature phone has no screen to
    delete one (``do_add_address`` refuses instead: the API can delete). Commits."""
    if len(" ".join(text.split())) > ADDRESS_FIELDS["text"]:
        raise InvalidAddress(N_("That address is too long."), field="text")
    fields = check_address(text)
    kept = list_addresses(session, store, customer_id)
    same = [a for a in kept if a.text.casefold() == fields["text"].casefold()]
    others = [a for a in kept if a not in same]
    for old in same + others[:max(0, len(others) + 1 - MAX_ADDRESSES)]:
        session.delete(old)
    if same:  # what else was kept with it (a label, a landmark from the API) stays
        fields.update(landmark=same[-1].landmark, label=same[-1].label, town=same[-1].town)
    address = Address(store_id=store.id, customer_id=customer_id, **fields)
    session.add(address)
    session.commit()
    return address


def do_delete_address(session: Session, store: Store, customer_id: int, address_id: int) -> None:
    session.delete(get_address(session, store, customer_id, address_id))
    session.commit()
