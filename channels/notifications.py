"""Messages people get when something happens in the shop: the shopper about their order, its
payment and their cart; the merchant about new orders, low stock and money to give back.

Each outbox event handler queues a job (retried) that words the message in the reader's
language (``channels.templates``), picks the route (``channels.reach``: WhatsApp or SMS, none
after STOP) and records it with ``queue_message`` under a key made of the event and its ids,
so an event relayed twice still sends one message. Merchants are told by SMS, whatever any
shopper opted out of.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import sms_render
from channels.context import ChannelServices, services
from channels.keywords import COMMANDS
from channels.messages import SMS
from channels.outbound import queue_message
from channels.reach import Approved, reach, sms_route
from channels.templates import fill, render_notification, whatsapp_params
from commerce import carts, events
from commerce.models import (
    Cart, ChannelAddress, Customer, Fulfilment, Order, OutboxEvent, Payment, PickupPoint, Store,
    Variant,
)
from dialogs.i18n import translate
from dialogs.pay import METHOD_NAMES
from dialogs.text import N_

SEND_RETRIES = 3

PAY_ON_DELIVERY = N_("Pay cash on delivery.")
PAY_ON_PICKUP = N_("Pay cash when you collect.")
NOTHING_TO_PAY = N_("You have nothing to pay.")  # a free order (a 100% code)
FREE = N_("nothing to pay")
HELP = N_("Help: {phone}")
MORE_ITEMS = N_("+{count} more")
REFERENCE = N_("ref {reference}")
SIMULATED = N_("(SIMULATED, no real money)")
NOT_THROUGH = N_("it did not go through")
TRACKING = N_("Tracking: {carrier} {tracking_number}.")
OUR_SHOP = N_("our shop")
PAY_HERE = N_("Pay here: {url}")
PAY_BY_SMS = N_("To pay, send {command} to {number}.")
PAY_BY_USSD = N_("To pay, dial {code}.")
PAY_BY_SMS_OR_USSD = N_("To pay, send {command} to {number} or dial {code}.")


@dataclass
class Note:
    """One message to queue: notification ``name`` to ``customer`` (``None``: the merchant),
    worded from ``values(locale)``, sent once per ``key``."""

    name: str
    key: str
    values: Callable[[str], dict]
    customer: Customer | None = None
    sms_to: str | None = None  # a shopper's SMS to another phone of theirs
    items: list[str] = field(default_factory=list)  # fitted into {items}


# -- handlers and the job -----------------------------------------------------------------------
def on_event(event: OutboxEvent) -> None:
    """Handler for every event in ``COMPOSERS``: the messages are worded and queued by a job."""
    services().jobs.enqueue(send_notifications, event.name, event.id, event.store_id,
                            dict(event.payload), retries=SEND_RETRIES)


def send_notifications(event_name: str, event_id: int, store_id: int, payload: dict) -> None:
    """Job: queue the messages event ``event_name`` calls for (a retry skips those queued)."""
    compose = COMPOSERS.get(event_name)
    ctx = services()
    with ctx.db() as db:
        store = db.get(Store, store_id)
        if compose is None or store is None:
            return
        for note in compose(db, store, event_id, payload):
            _queue(db, ctx, store, note)
            # Each message is committed on its own: if a later one fails, the retry finds the
            # earlier ones by their keys and does not send them again.
            db.commit()


def _queue(db: Session, ctx: ChannelServices, store: Store, note: Note) -> None:
    customer = note.customer
    if customer is None:
        if not store.contact_phone:
            return
        locale = store.default_locale
    else:
        locale = customer.locale or store.default_locale
    values = note.values(locale)
    text, row = _render(db, store, note, locale, values)
    if customer is None:
        route = sms_route(ctx, store.contact_phone, text)
    else:
        approved = None
        if row is not None and row.whatsapp_template:
            approved = Approved(row.whatsapp_template, locale, whatsapp_params(row, values))
        route = reach(db, ctx, store, customer, text, approved, sms_to=note.sms_to)
        if route is None:  # sent STOP: nothing until START
            return
    queue_message(db, channel=route.channel, provider=route.provider,
                  recipient=route.recipient, content=route.content, purpose=note.name,
                  store_id=store.id, customer_id=customer.id if customer else None,
                  dedup_key=note.key)


def _render(db: Session, store: Store, note: Note, locale: str, values: dict):
    """The text, with as many items listed as fit in the SMS parts a message may take (a long
    order's items end in "+N more"; ``values`` gets the ``items`` used, for a WhatsApp
    template's parameters)."""
    if not note.items:
        return render_notification(db, store, note.name, locale, values)
    shown = len(note.items)
    while True:
        hidden = len(note.items) - shown
        listed = note.items[:shown] + ([_say(locale, MORE_ITEMS, count=hidden)] if hidden else [])
        values["items"] = ", ".join(listed)
        text, row = render_notification(db, store, note.name, locale, values)
        if sms_render.fits(text, locale) or shown == 0:
            return text, row
        shown -= 1


def _say(locale: str, message: str, **values) -> str:
    """A short phrase in ``locale`` (English if its translation is broken)."""
    try:
        return fill(translate(locale, message), values)
    except (KeyError, ValueError, IndexError):
        return fill(message, values)


def _money(store: Store, amount: int, locale: str) -> str:
    return store.money(amount).format(f"{locale}_{store.country}")


def _order(db: Session, store: Store, payload: dict) -> Order | None:
    return db.scalar(select(Order).where(Order.id == payload.get("order_id"),
                                         Order.store_id == store.id))


def _items(order: Order) -> list[str]:
    return [f"{line.quantity}x {line.title}" for line in order.lines]


# -- orders -------------------------------------------------------------------------------------
def order_placed(db: Session, store: Store, event_id: int, payload: dict) -> list[Note]:
    order = _order(db, store, payload)
    if order is None:
        return []

    def receipt(locale: str) -> dict:
        payment = ""
        if order.total == 0:
            payment = NOTHING_TO_PAY
        elif order.payment_method == "cod":
            payment = PAY_ON_PICKUP if order.delivery_method == "pickup" else PAY_ON_DELIVERY
        return {"store": store.name, "number": order.number,
                "total": _money(store, order.total, locale),
                "payment": translate(locale, payment) if payment else "",
                "help": _say(locale, HELP, phone=store.contact_phone)
                if store.contact_phone else ""}

    def new_order(locale: str) -> dict:
        customer = order.customer
        who = f"{customer.name} ({customer.phone})" if customer.name else customer.phone
        method = FREE if order.total == 0 else \
            METHOD_NAMES.get(order.payment_method, order.payment_method)
        return {"store": store.name, "number": order.number, "customer": who,
                "total": _money(store, order.total, locale),
                "payment": translate(locale, method)}

    key = f"{events.ORDER_PLACED}:{order.id}"
    return [Note("order.placed", f"{key}:customer", receipt, order.customer,
                 items=_items(order)),
            Note("merchant.new_order", f"{key}:merchant", new_order, items=_items(order))]


def _order_note(name: str,
                extra: Callable[[Session, Store, Order], Callable[[str], dict]] | None = None):
    """A composer for an order event with one message to the shopper."""

    def compose(db: Session, store: Store, event_id: int, payload: dict) -> list[Note]:
        order = _order(db, store, payload)
        if order is None:
            return []
        more = extra(db, store, order) if extra else (lambda locale: {})

        def values(locale: str) -> dict:
            return {"store": store.name, "number": order.number, **more(locale)}

        return [Note(name, f"{name}:{order.id}:customer", values, order.customer)]

    return compose


def _shipped(db: Session, store: Store, order: Order) -> Callable[[str], dict]:
    shipment = db.scalar(select(Fulfilment).where(
        Fulfilment.store_id == store.id, Fulfilment.order_id == order.id,
        Fulfilment.tracking_number.is_not(None)).order_by(Fulfilment.id.desc()).limit(1))
    carrier = shipment.carrier if shipment else ""
    number = shipment.tracking_number if shipment else ""
    return lambda locale: {
        "carrier": carrier, "tracking_number": number,
        "tracking": _say(locale, TRACKING, carrier=carrier, tracking_number=number)
        if number else ""}


def _pickup(db: Session, store: Store, order: Order) -> Callable[[str], dict]:
    point = db.get(PickupPoint, order.pickup_point_id) if order.pickup_point_id else None
    return lambda locale: {
        "pickup_point": point.name if point else translate(locale, OUR_SHOP),
        "pickup_address": point.address_text if point else "",
        "total": _money(store, order.total, locale)}


def order_refunded(db: Session, store: Store, event_id: int, payload: dict) -> list[Note]:
    order = _order(db, store, payload)
    if order is None:
        return []

    def values(locale: str) -> dict:
        return {"store": store.name, "number": order.number,
                "amount": _money(store, int(payload.get("amount") or 0), locale)}

    key = f"{events.ORDER_REFUNDED}:{payload.get('refund_id')}:customer"
    return [Note("order.refunded", key, values, order.customer)]


def draft_sent(db: Session, store: Store, event_id: int, payload: dict) -> list[Note]:
    """A merchant's draft order to its customer: the items, the total and how to pay. Each
    send of the draft is a message (a resend too); the same event relayed twice is one."""
    order = _order(db, store, payload)
    if order is None or order.status != "draft":  # completed or discarded since
        return []
    link = db.scalar(select(Payment.redirect_url).where(
        Payment.store_id == store.id, Payment.order_id == order.id,
        Payment.status == "pending", Payment.redirect_url.is_not(None))
        .order_by(Payment.id.desc()).limit(1))
    sms, ussd = _sms_address(db, store), _ussd_code(db, store)

    def values(locale: str) -> dict:
        return {"store": store.name, "number": order.number,
                "total": _money(store, order.total, locale),
                "pay": _how_to_pay(locale, order, link, sms, ussd)}

    key = f"{events.DRAFT_ORDER_SENT}:{event_id}:customer"
    return [Note("order.draft_sent", key, values, order.customer, items=_items(order))]


def _how_to_pay(locale: str, order: Order, link: str | None, sms: tuple[str, str] | None,
                ussd: str | None) -> str:
    """A pay link when the payments side made one; else the PAY command (with the keyword of
    a shared short code) to the store's SMS number, and/or its USSD code."""
    if link:
        return _say(locale, PAY_HERE, url=link)
    pay = translate(locale, COMMANDS["pay"])
    if sms is not None:
        number, keyword = sms
        command = " ".join(filter(None, (keyword, pay, str(order.number))))
        if ussd:
            return _say(locale, PAY_BY_SMS_OR_USSD, command=command, number=number, code=ussd)
        return _say(locale, PAY_BY_SMS, command=command, number=number)
    return _say(locale, PAY_BY_USSD, code=ussd) if ussd else ""


def _sms_address(db: Session, store: Store) -> tuple[str, str] | None:
    """The store's SMS number and the keyword to start with on a shared one (else "")."""
    row = db.execute(select(ChannelAddress.address, ChannelAddress.selector).where(
        ChannelAddress.store_id == store.id, ChannelAddress.channel == SMS)
        .order_by(ChannelAddress.id).limit(1)).first()
    return (row.address, row.selector or "") if row else None


def _ussd_code(db: Session, store: Store) -> str | None:
    """What to dial: the store's own code, or a shared code with its store number in it
    (``*384*500#`` and 45: ``*384*500*45#``)."""
    row = db.execute(select(ChannelAddress.address, ChannelAddress.selector).where(
        ChannelAddress.store_id == store.id, ChannelAddress.channel == "ussd")
        .order_by(ChannelAddress.id).limit(1)).first()
    if row is None:
        return None
    return f"{row.address.removesuffix('#')}*{row.selector}#" if row.selector else row.address


# -- payments -----------------------------------------------------------------------------------
def _payment_note(name: str, event_name: str, extra: Callable[[Store, Payment, str], dict],
                  only_if: Callable[[Payment], bool] = lambda payment: True):
    """A composer for a payment event: one message to the shopper, by SMS to the phone the
    payment was asked from (unless that number sent STOP)."""

    def compose(db: Session, store: Store, event_id: int, payload: dict) -> list[Note]:
        order = _order(db, store, payload)
        payment = db.get(Payment, payload["payment_id"]) if payload.get("payment_id") else None
        if order is None or payment is None or payment.store_id != store.id \
                or not only_if(payment):
            return []

        def values(locale: str) -> dict:
            method = METHOD_NAMES.get(payment.method, payment.method)
            return {"store": store.name, "number": order.number,
                    "method": translate(locale, method), **extra(store, payment, locale)}

        # One message per payment and event kind, however often the event is relayed; a link
        # the shopper asked for again ("again" in the payload) is a message of its own.
        key = f"{event_name}:{payment.id}" + (f":{event_id}" if payload.get("again") else "")
        return [Note(name, f"{key}:customer", values, order.customer,
                     sms_to=_payer_phone(db, store, order.customer, payment))]

    return compose


def _payer_phone(db: Session, store: Store, customer: Customer, payment: Payment) -> str | None:
    if not payment.phone or payment.phone == customer.phone:
        return None
    payer = db.scalar(select(Customer).where(Customer.store_id == store.id,
                                             Customer.phone == payment.phone))
    return None if payer is not None and payer.opted_out_at is not None else payment.phone


def _received(store: Store, payment: Payment, locale: str) -> dict:
    return {"amount": _money(store, payment.amount, locale),
            "reference": _say(locale, REFERENCE, reference=payment.reference)
            if payment.reference else "",
            "simulated": translate(locale, SIMULATED) if payment.simulated else ""}


def _failed(store: Store, payment: Payment, locale: str) -> dict:
    why = translate(locale, payment.failure_reason or NOT_THROUGH)
    return {"reason": why.rstrip(".")}


def _link(store: Store, payment: Payment, locale: str) -> dict:
    return {"amount": _money(store, payment.amount, locale), "url": payment.redirect_url}


def overpaid(db: Session, store: Store, event_id: int, payload: dict) -> list[Note]:
    """To the merchant, once per payment: money an order does not owe, to give back."""
    order = _order(db, store, payload)
    payment = db.get(Payment, payload.get("payment_id") or 0)
    if order is None or payment is None or payment.store_id != store.id:
        return []

    def values(locale: str) -> dict:
        method = METHOD_NAMES.get(payment.method, payment.method)
        return {"store": store.name, "number": order.number,
                "amount": _money(store, int(payload.get("amount") or 0), locale),
                "method": translate(locale, method), "reference": payment.reference or ""}

    return [Note("merchant.overpaid", f"{events.ORDER_OVERPAID}:{payment.id}:merchant", values)]


# -- carts and stock ----------------------------------------------------------------------------
def cart_abandoned(db: Session, store: Store, event_id: int, payload: dict) -> list[Note]:
    """One reminder per cart, only to a customer who agreed to marketing messages, and only
    while the cart still waits (not ordered, not emptied)."""
    cart = db.scalar(select(Cart).where(Cart.id == payload.get("cart_id"),
                                        Cart.store_id == store.id))
    if cart is None or cart.customer_id is None or cart.status != "active" or not cart.lines:
        return []
    customer = db.get(Customer, cart.customer_id)
    if customer is None or not customer.marketing_consent:
        return []
    view = carts.view_lines(store, cart)

    def values(locale: str) -> dict:
        return {"store": store.name, "total": _money(store, view.subtotal.amount, locale)}

    return [Note("cart.reminder", f"{events.CART_ABANDONED}:{cart.id}:customer", values,
                 customer, items=[f"{line.quantity}x {line.title}" for line in view.lines])]


def low_stock(db: Session, store: Store, event_id: int, payload: dict) -> list[Note]:
    """To the merchant, once per event: stock can run low again after a restock."""
    variant = db.scalar(select(Variant).where(Variant.id == payload.get("variant_id"),
                                              Variant.store_id == store.id))
    if variant is None:
        return []

    def values(locale: str) -> dict:
        return {"store": store.name, "product": variant.title, "sku": variant.sku,
                "on_hand": payload.get("on_hand", ""), "threshold": payload.get("threshold", "")}

    return [Note("merchant.low_stock", f"{events.INVENTORY_LOW_STOCK}:{event_id}:merchant",
                 values)]


COMPOSERS: dict[str, Callable[[Session, Store, int, dict], list[Note]]] = {
    events.ORDER_PLACED: order_placed,
    events.DRAFT_ORDER_SENT: draft_sent,
    events.PAYMENT_COMPLETED: _payment_note("payment.completed", events.PAYMENT_COMPLETED,
                                            _received),
    events.PAYMENT_FAILED: _payment_note("payment.failed", events.PAYMENT_FAILED, _failed),
    events.PAYMENT_ACTION_REQUIRED: _payment_note(
        "payment.link", events.PAYMENT_ACTION_REQUIRED, _link,
        only_if=lambda payment: bool(payment.redirect_url) and payment.status == "pending"),
    events.ORDER_SHIPPED: _order_note("order.shipped", _shipped),
    events.ORDER_READY_FOR_PICKUP: _order_note("order.ready_for_pickup", _pickup),
    events.ORDER_DELIVERED: _order_note("order.delivered"),
    events.ORDER_REFUNDED: order_refunded,
    events.ORDER_OVERPAID: overpaid,
    events.CART_ABANDONED: cart_abandoned,
    events.INVENTORY_LOW_STOCK: low_stock,
}


def send_text_now(store_id: int, phone: str, text: str, purpose: str = "staff.sign_in_code"):
    """Queue one SMS now, outside any event (a staff member's sign-in code)."""
    ctx = services()
    route = sms_route(ctx, phone, text)
    with ctx.db() as db:
        queue_message(db, channel=route.channel, provider=route.provider,
                      recipient=route.recipient, content=route.content, purpose=purpose,
                      store_id=store_id)
        db.commit()
