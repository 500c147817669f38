"""Customers: a phone number within the store, with a name, a language, marketing consent,
delivery addresses and what they have bought."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select

from admin.api.pages import NO_NUL, Body, Page, PageQuery, paginate
from admin.api.routing import endpoint
from commerce import customers
from commerce.errors import InvalidPhoneNumber
from commerce.models import Customer, Order, Refund
from commerce.phones import to_e164

PAID = ("paid", "partially_refunded", "refunded")  # orders whose money came in


class CustomerOut(BaseModel):
    id: int
    phone: str
    name: str
    locale: str | None
    marketing_consent: bool
    consent_updated_at: datetime | None
    opted_out: bool = Field(description="Sent STOP: no messages on any channel until START.")
    created_at: datetime


class CustomerPage(Page[CustomerOut]):
    pass


class AddressOut(BaseModel):
    id: int
    label: str
    text: str
    landmark: str
    town: str
    created_at: datetime


class CustomerDetail(CustomerOut):
    addresses: list[AddressOut]
    orders_count: int = Field(description="Orders placed (drafts and cancelled ones left out).")
    total_spent: int = Field(description="Paid orders less refunds, in minor units of "
                                         "currency.")
    currency: str


class CustomerQuery(PageQuery):
    q: str | None = Field(None, min_length=1, max_length=80, pattern=NO_NUL,
                          description="Part of the name or phone number.")
    locale: str | None = Field(None, max_length=10, pattern=NO_NUL)
    consent: bool | None = Field(None, description="Marketing consent given (true) or not.")


class CustomerChange(Body):
    name: str | None = Field(None, max_length=120, pattern=NO_NUL)
    locale: str | None = Field(None, min_length=2, max_length=10, pattern=NO_NUL,
                               description="One of the store's languages.")
    marketing_consent: bool | None = None


def customer_fields(customer: Customer) -> dict:
    return dict(id=customer.id, phone=customer.phone, name=customer.name, locale=customer.locale,
                marketing_consent=customer.marketing_consent,
                consent_updated_at=customer.consent_updated_at,
                opted_out=customer.opted_out_at is not None, created_at=customer.created_at)


def customer_out(customer: Customer) -> dict:
    return CustomerOut(**customer_fields(customer)).model_dump(mode="json")


def _matching(call, q: str):
    """Name or phone containing ``q``; a number written locally (0712 345678) is read too."""
    text = q.strip()
    found = [func.lower(Customer.name).contains(text.lower(), autoescape=True),
             Customer.phone.contains("".join(text.split()), autoescape=True)]
    try:
        found.append(Customer.phone == to_e164(text, call.store.country))
    except InvalidPhoneNumber:
        pass
    return or_(*found)


@endpoint("GET", "/customers", "customers:read", summary="List customers",
          query=CustomerQuery, response=CustomerPage)
def list_customers(call):
    query = call.query
    statement = select(Customer).where(Customer.store_id == call.store_id)
    if query.q is not None and query.q.strip():
        statement = statement.where(_matching(call, query.q))
    if query.locale is not None:
        statement = statement.where(Customer.locale == query.locale.strip().lower())
    if query.consent is not None:
        statement = statement.where(Customer.marketing_consent.is_(query.consent))
    return paginate(call.db, statement, Customer.id, query, customer_out)


def customer_detail(call, customer: Customer) -> dict:
    store_id = call.store_id
    placed = call.db.scalar(select(func.count(Order.id)).where(
        Order.store_id == store_id, Order.customer_id == customer.id,
        Order.status.not_in(("draft", "cancelled"))))
    paid = call.db.scalar(select(func.coalesce(func.sum(Order.total), 0)).where(
        Order.store_id == store_id, Order.customer_id == customer.id,
        Order.financial_status.in_(PAID)))
    refunded = call.db.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0))
        .join(Order, Order.id == Refund.order_id)
        .where(Refund.store_id == store_id, Order.customer_id == customer.id,
               Refund.status != "failed"))  # as refunded_total counts them
    addresses = customers.list_addresses(call.db, call.store, customer.id)
    return CustomerDetail(
        **customer_fields(customer),
        addresses=[AddressOut.model_validate(a, from_attributes=True) for a in addresses],
        orders_count=placed, total_spent=int(paid) - int(refunded),
        currency=call.store.currency,
    ).model_dump(mode="json")


@endpoint("GET", "/customers/<int:customer_id>", "customers:read",
          summary="One customer, with addresses and what they spent", response=CustomerDetail)
def get_customer(call, customer_id: int):
    return customer_detail(call, customers.get_customer(call.db, call.store, customer_id))


@endpoint("PATCH", "/customers/<int:customer_id>", "customers:write",
          summary="Change a customer's name, language or marketing consent",
          body=CustomerChange, response=CustomerDetail)
def change_customer(call, customer_id: int):
    body, store = call.body, call.store
    customer = customers.get_customer(call.db, store, customer_id)
    if body.name is not None or body.locale is not None:
        customer = customers.do_update_customer(call.db, store, customer_id, name=body.name,
                                                locale=body.locale)
    # After the checked change above: a refused name or language leaves consent as it was.
    if body.marketing_consent is not None:
        customer = customers.do_set_marketing_consent(call.db, store, customer_id,
                                                      body.marketing_consent)
    return customer_detail(call, customer)
