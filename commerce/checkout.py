"""Checkout: delivery or pickup, address, discount code, totals in one place, and placing the
order exactly once.

Placing an order is idempotent per cart: the cart row is locked first, and a cart that already
became an order returns that order (``orders.cart_id`` is unique as a second guard).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from commerce import events, inventory, promotions, shipping
from commerce.carts import (
    get_active_cart, give_back_holds, lock_active_cart, read_lines, remember_active_cart,
    view_lines,
)
from commerce.db import utcnow
from commerce.errors import N_, DomainError, EmptyCart, NotFound
from commerce.models import Cart, Order, OrderLine, OrderStatusChange, Store
from commerce.money import Money

log = logging.getLogger(__name__)

# Which of these a store offers is up to its payment gateways (``payments.gateways``) and,
# for cash ("cod"), up to ``Store.accepts_cash``.
PAYMENT_METHODS = ("cod", "mpesa", "momo", "paystack", "flutterwave")


class PriceChanged(DomainError):
    code = "price_changed"


class CheckoutIncomplete(DomainError):
    code = "checkout_incomplete"


class TotalChanged(DomainError):
    """The order would cost otherwise than the shopper was shown (a delivery rate or the tax
    changed since): nothing is placed, so they can look again."""

    code = "total_changed"


class NoLongerSold(DomainError):
    """The merchant took items off sale after they went in the cart; they are out of it now
    (``details["variant_ids"]``)."""

    code = "no_longer_sold"


@dataclass(frozen=True)
class Totals:
    subtotal: Money
    discount: Money
    shipping: Money
    tax: Money  # included in ``total`` whether prices include tax or not
    total: Money


def tax_for(store: Store, taxable: int) -> int:
    """Tax on ``taxable`` minor units at the store's rate, rounded half up."""
    rate = store.tax_rate_bp
    if not rate or taxable <= 0:
        return 0
    if store.prices_include_tax:  # the tax already inside a tax-inclusive price
        return (taxable * rate * 2 + (10000 + rate)) // (2 * (10000 + rate))
    return (taxable * rate * 2 + 10000) // 20000


def compute_totals(session: Session, store: Store, cart: Cart) -> Totals:
    """Subtotal, discount, shipping, tax and total for a cart: the one place they are computed."""
    view = view_lines(store, cart)
    subtotal = view.subtotal.amount
    discount = 0
    if cart.discount_code:
        code = promotions.check_discount_code(session, store, cart.discount_code,
                                              cart.customer_id, subtotal)
        discount = promotions.discount_amount(code, subtotal)
    shipping_cost = 0
    if cart.delivery_method == "delivery" and cart.shipping_zone_id:
        shipping_cost = shipping.quote(session, store, cart.shipping_zone_id,
                                       view.weight_grams, subtotal - discount)
    taxable = subtotal - discount + shipping_cost
    tax = tax_for(store, taxable)
    total = taxable if store.prices_include_tax else taxable + tax
    m = store.money
    return Totals(m(subtotal), m(discount), m(shipping_cost), m(tax), m(total))


def _commit(session: Session, cart: Cart) -> None:
    """Commit a checkout choice; the screen that follows gets the cart as saved, unread."""
    session.commit()
    remember_active_cart(session, cart)


def _customer_cart(session: Session, store: Store, customer_id: int,
                   lock: bool = False) -> Cart:
    cart = (lock_active_cart if lock else get_active_cart)(session, store.id, customer_id)
    if cart is None or not cart.lines:
        raise EmptyCart(N_("Your cart is empty."))
    return cart


def do_choose_delivery(session: Session, store: Store, customer_id: int, zone_id: int,
                       address_text: str, landmark: str = "") -> Cart:
    """Deliver to an address in a shipping zone; commits."""
    address_text, landmark = address_text.strip(), landmark.strip()
    # Only not empty here: a saved address or a past order's stands as the shopper kept it
    # (what a shopper types is judged by the dialog: dialogs.checkout.looks_like_address).
    if not address_text:
        raise CheckoutIncomplete(N_("Please give a delivery address."))
    if len(address_text) > 300 or len(landmark) > 200:
        raise CheckoutIncomplete(N_("That address is too long."))
    zone = shipping.get_zone(session, store.id, zone_id)
    cart = _customer_cart(session, store, customer_id)
    cart.delivery_method, cart.shipping_zone_id, cart.pickup_point_id = "delivery", zone.id, None
    cart.address_text, cart.address_landmark = address_text, landmark
    cart.last_activity_at = utcnow()
    _commit(session, cart)
    return cart


def do_choose_pickup(session: Session, store: Store, customer_id: int,
                     pickup_point_id: int) -> Cart:
    """Collect from a pickup point; commits."""
    point = shipping.get_pickup_point(session, store.id, pickup_point_id)
    cart = _customer_cart(session, store, customer_id)
    cart.delivery_method, cart.pickup_point_id, cart.shipping_zone_id = "pickup", point.id, None
    cart.address_text, cart.address_landmark = "", ""
    cart.last_activity_at = utcnow()
    _commit(session, cart)
    return cart


def do_apply_discount_code(session: Session, store: Store, customer_id: int,
                           code: str) -> Totals:
    """Check a discount code against the cart and keep it there; commits. Raises if invalid."""
    cart = _customer_cart(session, store, customer_id)
    subtotal = view_lines(store, cart).subtotal.amount
    discount = promotions.check_discount_code(session, store, code, customer_id, subtotal)
    cart.discount_code = discount.code
    _commit(session, cart)
    return compute_totals(session, store, cart)


def do_remove_discount_code(session: Session, store: Store, customer_id: int) -> str | None:
    """Take the code off the cart; commits. Returns the code taken off (None if none was)."""
    cart = _customer_cart(session, store, customer_id)
    removed, cart.discount_code = cart.discount_code, None
    _commit(session, cart)
    return removed


def check_prices_unchanged(session: Session, store: Store, cart: Cart) -> None:
    """Raise ``PriceChanged`` (after updating the cart to today's prices) if any price moved."""
    changed = [line for line in cart.lines if line.unit_price != line.variant.price]
    if not changed:
        return
    names = ", ".join(line.variant.title for line in changed)
    for line in changed:
        line.unit_price = line.variant.price
    session.commit()
    raise PriceChanged(N_("The price of {items} has changed. Please check your cart."),
                       values={"items": names},
                       variant_ids=[line.variant_id for line in changed])


def _on_sale(line) -> bool:
    """As ``catalog.get_variant`` tells: the size and its product both active."""
    return line.variant.active and line.variant.product.active


def check_lines_on_sale(session: Session, store: Store, cart: Cart) -> None:
    """Raise ``NoLongerSold`` (after taking those lines out of the cart) if the merchant took
    any item off sale: as with a changed price, the shopper sees the cart again first."""
    gone = [line for line in cart.lines if not _on_sale(line)]
    if not gone:
        return
    titles = [line.variant.title for line in gone]
    variant_ids = [line.variant_id for line in gone]
    for line in gone:
        cart.lines.remove(line)
    give_back_holds(session, store, cart)
    session.commit()
    raise NoLongerSold(N_("Sorry, no longer sold and taken out of your cart: {names}."),
                       values={"names": ", ".join(titles)}, variant_ids=variant_ids)


def check_discount_applies(session: Session, store: Store, cart: Cart) -> None:
    """Raise ``DiscountRefused`` (after taking the code off the cart) if the cart's code no
    longer applies: switched off, expired, used up, or the order now too small. Kept on, it
    would refuse every checkout of the cart, and a feature phone has no other way out."""
    if not cart.discount_code:
        return
    subtotal = view_lines(store, cart).subtotal.amount
    try:
        promotions.check_discount_code(session, store, cart.discount_code, cart.customer_id,
                                       subtotal)
    except promotions.DiscountRefused:
        cart.discount_code = None
        session.commit()
        raise


def do_start_checkout(session: Session, store: Store, customer_id: int) -> Totals:
    """Hold the cart's stock for ``store.reservation_minutes`` and return the totals; commits.

    Raises ``NoLongerSold``, ``PriceChanged``, ``DiscountRefused`` (the code is off the cart
    then) or ``OutOfStock`` with a clear message, holding nothing.
    """
    # The cart row first, as placing the order takes it: holds and stock rows taken before it
    # would deadlock against an order being placed from another channel at the same moment.
    cart = _customer_cart(session, store, customer_id, lock=True)
    check_lines_on_sale(session, store, cart)
    check_prices_unchanged(session, store, cart)
    check_discount_applies(session, store, cart)
    inventory.reserve_stock(session, store, cart.id,
                            {line.variant_id: line.quantity for line in cart.lines})
    cart.last_activity_at = utcnow()
    _commit(session, cart)
    return compute_totals(session, store, cart)


_TAKES_CASH = select(Store.accepts_cash).where(Store.id == bindparam("store_id"))


def takes_cash(session: Session, store_id: int) -> bool:
    """Whether the store takes cash on delivery or at pickup, as its row says now (a channel's
    copy of the store may be some seconds old)."""
    return bool(session.scalar(_TAKES_CASH, {"store_id": store_id}))


def method_not_offered(payment_method: str) -> NotFound:
    return NotFound(N_("Payment method '{method}' is not offered."),
                    values={"method": payment_method})


def check_payment_method(session: Session, store: Store, payment_method: str) -> None:
    """A way to pay an order can be placed with: a known method, and cash only in a store that
    takes cash. Whether the store's gateway for an online method is on is checked when the
    payment is asked for (``payments.service``)."""
    if payment_method not in PAYMENT_METHODS or (
            payment_method == "cod" and not takes_cash(session, store.id)):
        raise method_not_offered(payment_method)


_TAKE_ORDER_NUMBER = (  # built once and run as Core, as every order runs it (see inventory)
    update(Store)
    .where(Store.id == bindparam("store_id"))
    .values(next_order_number=Store.next_order_number + 1)
    .returning(Store.next_order_number, Store.accepts_cash)
)


def take_order_number(session: Session, store_id: int) -> tuple[int, bool]:
    """The store's next order number, and whether it takes cash, read under the row lock that
    taking the number holds (no round trip of its own for what every cash order asks)."""
    taken, accepts_cash = session.connection().execute(_TAKE_ORDER_NUMBER,
                                                       {"store_id": store_id}).one()
    return taken - 1, accepts_cash


def next_order_number(session: Session, store_id: int) -> int:
    return take_order_number(session, store_id)[0]


_CART_TO_ORDER = (  # built once, as every order runs it
    select(Cart).options(lazyload(Cart.lines))  # carts.read_lines, after the lock
    .where(Cart.id == bindparam("cart_id"), Cart.store_id == bindparam("store_id"),
           Cart.customer_id == bindparam("customer_id"))
    # A double-tapped "confirm" waits here, then sees the order; so does a hop that changes
    # the cart (carts.lock_active_cart). The lines come after the lock, in a query of their
    # own: joined in this one, they would be read as they were before the wait, as
    # PostgreSQL reads again only the row it locked, and an item just added would be lost.
    .with_for_update()
    # ... as the row is now: the cart may be in the session already, as read before the wait
    .execution_options(populate_existing=True)
)


def do_place_order(session: Session, store: Store, customer_id: int,
                   cart_id: int | None = None, payment_method: str = "cod",
                   shown_total: int | None = None) -> Order:
    """Turn the customer's cart into an order; commits and records ``order.placed``.

    Idempotent per cart: placing an already ordered cart returns the order it became. Stock is
    taken from the cart's reservations; if they lapsed it is reserved again here, atomically.
    Cash (``"cod"``) is refused, changing nothing, when the store does not take cash; so is
    an order whose total is not the ``shown_total`` the shopper confirmed (``TotalChanged``).
    """
    if payment_method not in PAYMENT_METHODS:
        raise method_not_offered(payment_method)
    if cart_id is None:
        cart_id = _customer_cart(session, store, customer_id).id
    cart = session.scalars(_CART_TO_ORDER, {"cart_id": cart_id, "store_id": store.id,
                                            "customer_id": customer_id}).one_or_none()
    if cart is None:
        raise NotFound(N_("That cart does not exist."))
    if cart.status == "ordered":
        return _order_for_cart(session, store.id, cart.id)
    read_lines(session, cart)
    if not cart.lines:
        session.rollback()
        raise EmptyCart(N_("Your cart is empty."))
    if cart.delivery_method == "delivery" and not cart.address_text:
        session.rollback()
        raise CheckoutIncomplete(N_("Please give a delivery address."))

    try:  # whether the store takes cash is read as the order number is taken (_place)
        return _place(session, store, cart, payment_method, shown_total)
    except DomainError:
        session.rollback()  # nothing half done: no order number, holds as they were
        raise


def _place(session: Session, store: Store, cart: Cart, payment_method: str,
           shown_total: int | None) -> Order:
    check_lines_on_sale(session, store, cart)  # taken off sale since the checkout began
    check_prices_unchanged(session, store, cart)  # the shopper pays what they were shown
    # Lock order for every path: cart (locked by the caller), store row (order number),
    # the cart's holds, then stock rows. One order keeps held and unheld checkouts from
    # deadlocking each other and the expiry job.
    customer_id, cart_id = cart.customer_id, cart.id
    number, accepts_cash = take_order_number(session, store.id)
    if payment_method == "cod" and not accepts_cash:  # the store turned cash off meanwhile
        raise method_not_offered(payment_method)
    wants = {line.variant_id: line.quantity for line in cart.lines}
    holds = inventory.holds_of_cart(session, store.id, cart.id, lock=True)
    if inventory.held_quantities(holds) != wants:  # the holds lapsed: take the stock now
        inventory.reserve_stock(session, store, cart.id, wants)
        # Made by this transaction, so no one else sees them to release: no lock needed.
        holds = inventory.holds_of_cart(session, store.id, cart.id)
    totals = compute_totals(session, store, cart)
    if shown_total is not None and totals.total.amount != shown_total:
        raise TotalChanged(N_("The total is now {total}."), values={"total": totals.total})
    order = Order(
        store_id=store.id, number=number, customer_id=customer_id,
        cart_id=cart.id, payment_method=payment_method, currency=store.currency,
        subtotal=totals.subtotal.amount, discount_total=totals.discount.amount,
        shipping_total=totals.shipping.amount, tax_total=totals.tax.amount,
        total=totals.total.amount, delivery_method=cart.delivery_method,
        shipping_zone_id=cart.shipping_zone_id, pickup_point_id=cart.pickup_point_id,
        address_text=cart.address_text, address_landmark=cart.address_landmark,
        discount_code=cart.discount_code,
        lines=[
            OrderLine(store_id=store.id, variant_id=line.variant_id, title=line.variant.title,
                      sku=line.variant.sku, unit_price=line.variant.price,
                      quantity=line.quantity)
            for line in cart.lines
        ],
    )
    session.add(order)
    cart.status = "ordered"
    try:
        session.flush()
    except IntegrityError:  # the same cart was placed concurrently; that order stands
        session.rollback()
        return _order_for_cart(session, store.id, cart_id)
    inventory.consume_reservations(session, store, holds, order.id)
    if cart.discount_code:
        promotions.redeem(session, store, cart.discount_code, order.id, customer_id)
    session.add(OrderStatusChange(store_id=store.id, order_id=order.id, from_status=None,
                                  to_status=order.status, actor="customer",
                                  reason="placed at checkout"))
    events.record(session, store.id, events.ORDER_PLACED,
                  {"order_id": order.id, "number": order.number})
    from commerce.order_payments import settle_free_order  # it imports this module

    settle_free_order(session, store, order, "customer")
    session.commit()
    log.info("store %s: order #%s placed (%s %s)", store.id, order.number, order.total,
             order.currency)
    return order


def _order_for_cart(session: Session, store_id: int, cart_id: int) -> Order:
    return session.scalars(
        select(Order).where(Order.store_id == store_id, Order.cart_id == cart_id)
    ).one()
