"""Sales reports, added up by the database (SQL aggregates), in minor units of the store's
currency. Days are the store's days (its time zone): an order at 01:00 in Nairobi belongs to
that Nairobi day, though it is the evening before in UTC.

A sale is a paid order (paid, partly or wholly refunded since): placed in the period, it
counts in ``gross`` on its day. Refunds count on the day they were made (any not refused by
the provider, as ``commerce.order_payments.refunded_total`` counts them); ``net`` is gross less
refunds.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import BigInteger, case, cast, func, select

from admin.api.errors import ApiError
from admin.api.pages import Query
from admin.api.routing import endpoint
from commerce.db import utcnow
from commerce.models import Order, OrderLine, Refund

PAID = ("paid", "partially_refunded", "refunded")
MAX_DAYS = 366
DEFAULT_DAYS = 30


class SalesQuery(Query):
    from_: date | None = Field(None, alias="from", ge=date(2000, 1, 1), le=date(2100, 12, 31),
                               description="First day (the store's), e.g. 2026-11-01; "
                                           "default: 29 days before to.")
    to: date | None = Field(None, ge=date(2000, 1, 1), le=date(2100, 12, 31),
                            description="Last day, included; default: today.")
    top: int = Field(10, ge=1, le=50, description="How many top products.")


class DaySales(BaseModel):
    date: date
    orders: int
    gross: int
    refunds: int
    net: int


class MethodSales(BaseModel):
    method: str
    orders: int
    gross: int


class ProductSales(BaseModel):
    variant_id: int | None
    sku: str
    title: str
    quantity: int
    sales: int = Field(description="Units times the price paid, before order discounts.")


class SalesReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    currency: str
    timezone: str
    from_: date = Field(alias="from")
    to: date
    orders: int
    gross: int = Field(description="What paid orders came to: goods, shipping and tax, "
                                   "less discounts.")
    discounts: int
    shipping: int
    tax: int
    refunds: int
    net: int
    by_day: list[DaySales]
    by_payment_method: list[MethodSales]
    top_products: list[ProductSales]


def _period(call) -> tuple[date, date]:
    query = call.query
    today = utcnow().astimezone(ZoneInfo(call.store.timezone)).date()
    last = query.to or (query.from_ + timedelta(days=DEFAULT_DAYS - 1) if query.from_
                        else today)
    first = query.from_ or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ApiError(422, "invalid_query", "from must not be after to.")
    if (last - first).days + 1 > MAX_DAYS:
        raise ApiError(422, "invalid_query", f"A report covers at most {MAX_DAYS} days.")
    return first, last


def _day_of(column, bounds: list[datetime]):
    """The index of the store's day a UTC time falls in (``bounds``: each day's midnight)."""
    return case(*[(column < end, index) for index, end in enumerate(bounds[1:])])


@endpoint("GET", "/reports/sales", "reports:read", summary="Sales over a period",
          tag="reports", query=SalesQuery, response=SalesReport)
def sales_report(call):
    store, db = call.store, call.db
    first, last = _period(call)
    zone = ZoneInfo(store.timezone)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    bounds = [datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)
              for day in [*days, last + timedelta(days=1)]]
    sold = (Order.store_id == store.id, Order.financial_status.in_(PAID),
            Order.created_at >= bounds[0], Order.created_at < bounds[-1])
    refunded = (Refund.store_id == store.id, Refund.status != "failed",
                Order.financial_status.in_(PAID),
                Refund.created_at >= bounds[0], Refund.created_at < bounds[-1])

    totals = db.execute(select(
        func.count(Order.id), func.coalesce(func.sum(Order.total), 0),
        func.coalesce(func.sum(Order.discount_total), 0),
        func.coalesce(func.sum(Order.shipping_total), 0),
        func.coalesce(func.sum(Order.tax_total), 0)).where(*sold)).one()
    # Grouped in a subquery: PostgreSQL cannot tell the day expression in GROUP BY is the one
    # selected (its parameters are bound twice).
    orders_by_day = select(_day_of(Order.created_at, bounds).label("day"),
                           Order.total.label("amount")).where(*sold).subquery()
    refunds_by_day = select(_day_of(Refund.created_at, bounds).label("day"),
                            Refund.amount.label("amount")).join(
        Order, Order.id == Refund.order_id).where(*refunded).subquery()
    day_orders = {day: (count, int(amount)) for day, count, amount in db.execute(
        select(orders_by_day.c.day, func.count(), func.sum(orders_by_day.c.amount))
        .group_by(orders_by_day.c.day))}
    day_refunds = {day: int(amount) for day, amount in db.execute(
        select(refunds_by_day.c.day, func.sum(refunds_by_day.c.amount))
        .group_by(refunds_by_day.c.day))}
    gross_sum = func.sum(Order.total)
    methods = db.execute(select(Order.payment_method, func.count(Order.id), gross_sum)
                         .where(*sold).group_by(Order.payment_method)
                         .order_by(gross_sum.desc(), Order.payment_method)).all()
    sales = func.sum(cast(OrderLine.unit_price, BigInteger) * OrderLine.quantity)
    products = db.execute(
        select(func.max(OrderLine.variant_id), OrderLine.sku, func.max(OrderLine.title),
               func.sum(OrderLine.quantity), sales)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.store_id == store.id, *sold)
        .group_by(OrderLine.sku).order_by(sales.desc(), OrderLine.sku)
        .limit(call.query.top)).all()

    refunds = sum(day_refunds.values())
    by_day = []
    for index, day in enumerate(days):
        count, gross = day_orders.get(index, (0, 0))
        given_back = day_refunds.get(index, 0)
        by_day.append(DaySales(date=day, orders=count, gross=gross, refunds=given_back,
                               net=gross - given_back))
    count, gross, discounts, shipping, tax = totals
    return SalesReport(
        currency=store.currency, timezone=store.timezone, from_=first, to=last,
        orders=count, gross=int(gross), discounts=int(discounts), shipping=int(shipping),
        tax=int(tax), refunds=refunds, net=int(gross) - refunds, by_day=by_day,
        by_payment_method=[MethodSales(method=method, orders=n, gross=int(amount))
                           for method, n, amount in methods],
        top_products=[ProductSales(variant_id=variant_id, sku=sku, title=title,
                                   quantity=int(quantity), sales=int(amount))
                      for variant_id, sku, title, quantity, amount in products],
    ).model_dump(mode="json", by_alias=True)
