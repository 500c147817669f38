"""Customers: a phone number within a store."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce.models import Customer, Store


def get_or_create_customer(session: Session, store: Store, phone_e164: str) -> Customer:
    """The customer with this number in this store; created (and committed) on first contact."""
    stmt = select(Customer).where(Customer.store_id == store.id, Customer.phone == phone_e164)
    customer = session.scalar(stmt)
    if customer is not None:
        return customer
    customer = Customer(store_id=store.id, phone=phone_e164)
    session.add(customer)
    try:
        session.commit()
    except IntegrityError:  # the same person dialled twice at once; the other request won
        session.rollback()
        customer = session.scalar(stmt)
    return customer
