"""Carts: one active cart per customer per store, shared by every channel; guest carts too."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, literal, or_, select, text, update
from sqlalchemy.orm import Session, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from commerce import events, inventory
from commerce.catalog import get_variant
from commerce.db import (
    for_transaction, insert_for, remember_for_transaction, remembered, utcnow,
)
from commerce.errors import N_, InvalidQuantity, NotFound
from commerce.models import Cart, CartLine, Product, Store, Variant
from commerce.models.catalog import variant_title
from commerce.money import Money

MAX_LINE_QUANTITY = 99  # a feature-phone shopper typing 1000 by mistake should not lock stock


@dataclass(frozen=True)
class CartLineView:
    variant_id: int
    title: str
    quantity: int
    unit_price: Money
    total: Money
    weight_grams: int


@dataclass(frozen=True)
class CartView:
    cart_id: int | None
    lines: tuple[CartLineView, ...]
    subtotal: Money

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def weight_grams(self) -> int:
        return sum(line.weight_grams * line.quantity for line in self.lines)


@dataclass(frozen=True)
class Step:
    """One step of a shopper's conversation, on a channel that may deliver a step twice: a
    gateway retrying a slow USSD hop, or a session lost from Redis and replayed from the text
    AT accumulates. ``number`` counts the conversation's steps from 1.

    A cart remembers the last step that changed it; a step at or before that one, in the same
    conversation, changes nothing (the change it asks for is already in the cart).
    """

    conversation: str
    number: int


# -- finding carts -------------------------------------------------------------------------------
# Built once: nearly every hop of every shopper runs it. The lines come in the same round trip
# (joined) rather than in a second query (the relationship's default, selectin).
_ACTIVE_CART = select(Cart).options(joinedload(Cart.lines)).where(
    Cart.store_id == bindparam("store_id"), Cart.customer_id == bindparam("customer_id"),
    Cart.status == "active")


def get_active_cart(session: Session, store_id: int, customer_id: int) -> Cart | None:
    """The customer's active cart, read once per transaction (several screens and services of
    one hop ask for it; the session would hand back the same object anyway)."""
    key = _active_key(store_id, customer_id)
    cart = for_transaction(session, key, lambda: _read_active_cart(session, store_id,
                                                                   customer_id))
    if cart is None or _still_active(session, cart):
        return cart
    cart = _read_active_cart(session, store_id, customer_id)  # ordered or dropped meanwhile
    remember_for_transaction(session, key, cart)
    return cart


# Built once. A change locks the cart's row before it reads the lines: read before the lock, a
# line may be changed by another hop of the same shopper (WhatsApp and USSD at once) before this
# one writes, and that change would be lost. The lines come after the lock, in a query of their
# own: after a wait, PostgreSQL reads again only the row it locked, not rows joined to it.
# ``populate_existing``: the cart and its lines as they are now, not as a screen of this hop
# read them before.
_ACTIVE_CART_LOCKED = (
    select(Cart).options(lazyload(Cart.lines))  # read by _read_lines, built once as well
    .where(Cart.store_id == bindparam("store_id"), Cart.customer_id == bindparam("customer_id"),
           Cart.status == "active")
    .with_for_update().execution_options(populate_existing=True))
_LINES_OF_CART = (select(CartLine).where(CartLine.cart_id == bindparam("cart_id"))
                  .order_by(CartLine.id).execution_options(populate_existing=True))


def lock_active_cart(session: Session, store_id: int, customer_id: int) -> Cart | None:
    """The customer's active cart to change: its row locked until the transaction ends, its
    lines read after the lock."""
    cart = session.scalars(_ACTIVE_CART_LOCKED, {"store_id": store_id,
                                                 "customer_id": customer_id}).one_or_none()
    if cart is not None:
        read_lines(session, cart)
    remember_for_transaction(session, _active_key(store_id, customer_id), cart)
    return cart


def read_lines(session: Session, cart: Cart) -> None:
    """Load ``cart``'s lines as they are now (after its row was locked)."""
    set_committed_value(cart, "lines", list(session.scalars(_LINES_OF_CART,
                                                            {"cart_id": cart.id})))


def _still_active(session: Session, cart: Cart) -> bool:
    """A remembered cart may have been ordered (or dropped from the session) since."""
    return cart in session and cart.status == "active"


def _active_key(store_id: int, customer_id: int) -> tuple:
    return ("active_cart", store_id, customer_id)


def _read_active_cart(session: Session, store_id: int, customer_id: int) -> Cart | None:
    return session.scalars(_ACTIVE_CART, {"store_id": store_id, "customer_id": customer_id}
                           ).unique().one_or_none()


def remember_active_cart(session: Session, cart: Cart) -> None:
    """``cart``, just committed by a service, is what ``get_active_cart`` gives next."""
    remember_for_transaction(session, _active_key(cart.store_id, cart.customer_id), cart)


def get_guest_cart(session: Session, store_id: int, guest_token: str) -> Cart | None:
    return session.scalar(select(Cart).where(
        Cart.store_id == store_id, Cart.guest_token == guest_token, Cart.status == "active"))


def get_cart(session: Session, store_id: int, cart_id: int) -> Cart:
    cart = session.scalar(select(Cart).where(Cart.id == cart_id, Cart.store_id == store_id))
    if cart is None:
        raise NotFound(N_("That cart does not exist."))
    return cart


def _get_or_create_active_cart(session: Session, store_id: int, customer_id: int,
                               step: Step | None = None) -> tuple[Cart | None, bool]:
    """The customer's active cart, and whether it was opened just now (so it holds no stock,
    has just been touched, and took ``step`` as its last). None if there is none and ``step``
    changed a cart that has been ordered since: a session lost from Redis and replayed from
    the top must not fill a new cart with what was ordered already."""
    cart = lock_active_cart(session, store_id, customer_id)
    if cart is not None:
        return cart, False
    # One statement, where a savepoint around the insert took three: no cart is opened if
    # another channel opened one a moment ago (the one-active-cart index), and that one is read.
    opened = session.scalars(
        _open_cart(session, store_id, customer_id, step)
        .on_conflict_do_nothing(index_elements=[Cart.store_id, Cart.customer_id],
                                # as the index says it, literally: PostgreSQL matches the
                                # index by its predicate, and a bound parameter is not it
                                index_where=text("status = 'active'"))
        .returning(Cart).options(lazyload(Cart.lines))).one_or_none()
    if opened is None:
        cart, new = lock_active_cart(session, store_id, customer_id), False
        if cart is None:  # not opened: the step's cart was ordered
            return None, False
    else:
        set_committed_value(opened, "lines", [])  # new: nothing to load
        cart, new = opened, True
    remember_active_cart(session, cart)
    return cart, new


def lock_or_open_active_cart(session: Session, store_id: int,
                             customer_id: int) -> tuple[Cart, bool]:
    """The customer's active cart, its row locked (opened now if there is none), and whether
    it was opened now. For a change made outside a shopper's steps."""
    cart, new = _get_or_create_active_cart(session, store_id, customer_id)
    assert cart is not None  # only a step's replay opens no cart
    return cart, new


def _open_cart(session: Session, store_id: int, customer_id: int, step: Step | None):
    """The INSERT of a new active cart; with a step, only if no ordered cart of the customer
    took that step or a later one (in the same statement: no query of its own)."""
    insert = insert_for(session, Cart)
    if step is None:
        return insert.values(store_id=store_id, customer_id=customer_id)
    values = {"store_id": store_id, "customer_id": customer_id, **_step_values(step)}
    ordered = select(Cart.id).where(
        Cart.store_id == store_id, Cart.customer_id == customer_id, Cart.status == "ordered",
        Cart.step_conversation == values["step_conversation"], Cart.step_number >= step.number)
    return insert.from_select(list(values), select(*(literal(v) for v in values.values()))
                              .where(~exists(ordered)))


def _step_values(step: Step | None) -> dict:
    if step is None:
        return {}
    conversation = step.conversation
    if len(conversation) > 100:  # the column's width; a hash keeps long ids apart
        conversation = "sha256:" + hashlib.sha256(conversation.encode()).hexdigest()
    return {"step_conversation": conversation, "step_number": step.number}


# Built once. Taking the step is an UPDATE of the cart row, so a copy of the same step running
# at the same time waits here for this transaction, then finds the step taken (PostgreSQL
# checks the WHERE again on the row as committed). It also touches the cart, as _touch would.
_TAKE_STEP = (
    update(Cart)
    .where(Cart.id == bindparam("cart_id"),
           or_(Cart.step_conversation.is_distinct_from(bindparam("conversation")),
               Cart.step_number < bindparam("number")))
    .values(step_conversation=bindparam("conversation"), step_number=bindparam("number"),
            last_activity_at=bindparam("now"), abandoned_at=None, updated_at=bindparam("now"))
)


def _take_step(session: Session, cart: Cart, step: Step | None) -> bool:
    """Whether the change ``step`` asks for is still to be made on ``cart`` (always without a
    step). If so, the cart now records the step and has been touched; if not, ``cart`` is
    read again, as the transaction that took the step committed it."""
    if step is None:
        return True
    values = {**_step_values(step), "now": utcnow()}
    taken = session.connection().execute(
        _TAKE_STEP, {"cart_id": cart.id, "conversation": values["step_conversation"],
                     "number": step.number, "now": values["now"]}).rowcount
    if taken:
        for name in ("step_conversation", "step_number"):
            set_committed_value(cart, name, values[name])
        for name in ("last_activity_at", "updated_at"):
            set_committed_value(cart, name, values["now"])
        set_committed_value(cart, "abandoned_at", None)
        return True
    session.refresh(cart)  # the lines as the step left them, not as read before the wait
    return False


def do_create_guest_cart(session: Session, store: Store) -> Cart:
    """A cart for a shopper not yet known by phone number; identified by its token."""
    cart = Cart(store_id=store.id, guest_token=secrets.token_urlsafe(24))
    session.add(cart)
    session.commit()
    return cart


# -- changing carts ------------------------------------------------------------------------------
def check_quantity(quantity: object) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise InvalidQuantity(N_("Quantity must be a whole number of at least 1."))
    if quantity > MAX_LINE_QUANTITY:
        raise InvalidQuantity(N_("You can buy at most {count} of one item."),
                              values={"count": MAX_LINE_QUANTITY})
    return quantity


def _check_can_hold(session: Session, store: Store, cart: Cart, variant_id: int,
                    wanted: int, new_cart: bool = False) -> None:
    if wanted > MAX_LINE_QUANTITY:
        raise InvalidQuantity(N_("You can buy at most {count} of one item."),
                              values={"count": MAX_LINE_QUANTITY})
    available = most_for_line(session, store.id, None if new_cart else cart.id, variant_id)
    if wanted > available:
        variant = get_variant(session, store.id, variant_id)
        raise inventory.out_of_stock(variant.title, variant_id, available)


def most_for_line(session: Session, store_id: int, cart_id: int | None,
                  variant_id: int) -> int:
    """The most a cart's line of a variant can be set to: what is free on the shelf, plus
    what the cart's checkout holds for it already (None: a cart that holds nothing)."""
    held = inventory.held_for_cart(session, store_id, cart_id).get(variant_id, 0) \
        if cart_id else 0
    free = inventory.available_quantity(session, store_id, variant_id)
    return min(MAX_LINE_QUANTITY, free + held)


def _add_line(session: Session, store: Store, cart: Cart, variant_id: int,
              quantity: int, new_cart: bool = False, touch: bool = True) -> None:
    """``new_cart``: opened in this transaction, so it holds no stock and needs no touch;
    ``touch``: False when taking a step touched the cart already."""
    variant = get_variant(session, store.id, variant_id)
    line = next((ln for ln in cart.lines if ln.variant_id == variant.id), None)
    wanted = quantity + (line.quantity if line else 0)
    _check_can_hold(session, store, cart, variant.id, wanted, new_cart)
    if line is None:
        cart.lines.append(CartLine(store_id=store.id, variant_id=variant.id, quantity=quantity,
                                   unit_price=variant.price, variant=variant))
    else:
        line.quantity = wanted
        line.unit_price = variant.price
    if touch and not new_cart:
        _touch(cart)


def give_back_holds(session: Session, store: Store, cart: Cart) -> None:
    """A line of ``cart`` (locked) shrinks: what its checkout held goes back on the shelf now,
    not when the hold lapses, so other shoppers can buy it. Checking out again holds anew."""
    if cart.id:
        inventory.release_reservations(session, store.id, cart.id)


def _touch(cart: Cart) -> None:
    cart.last_activity_at = utcnow()
    cart.abandoned_at = None


def do_add_to_cart(session: Session, store: Store, customer_id: int, variant_id: int,
                   quantity: int, step: Step | None = None) -> CartView:
    """Add ``quantity`` of a variant to the customer's cart, unless the shopper's ``step``
    added it already; commits."""
    check_quantity(quantity)
    try:
        cart, new = _get_or_create_active_cart(session, store.id, customer_id, step)
        if cart is not None and (new or _take_step(session, cart, step)):
            _add_line(session, store, cart, variant_id, quantity, new, touch=step is None)
    except Exception:
        session.rollback()
        raise
    session.commit()
    return view_lines(store, cart)  # as just committed (the session keeps it loaded)


def do_add_to_guest_cart(session: Session, store: Store, guest_token: str, variant_id: int,
                         quantity: int) -> Cart:
    check_quantity(quantity)
    cart = get_guest_cart(session, store.id, guest_token)
    if cart is None:
        raise NotFound(N_("That cart does not exist."))
    try:
        _add_line(session, store, cart, variant_id, quantity)
    except Exception:
        session.rollback()
        raise
    session.commit()
    return cart


def set_line(session: Session, store: Store, cart: Cart, variant_id: int, quantity: int,
             new_cart: bool = False, touch: bool = True) -> None:
    """Bring one line of ``cart`` (locked by the caller, whose transaction this is) to
    ``quantity``; 0 removes it. A new line takes the price now, as an add does. Raises, the
    line unchanged, when the variant is not on sale or the quantity cannot be sold (a line
    brought down has given the cart's holds back by then: ``give_back_holds``)."""
    line = next((ln for ln in cart.lines if ln.variant_id == variant_id), None)
    if line is not None and quantity < line.quantity:
        give_back_holds(session, store, cart)
    if quantity == 0:
        if line is not None:
            cart.lines.remove(line)
    elif line is not None:
        _check_can_hold(session, store, cart, variant_id, check_quantity(quantity), new_cart)
        line.quantity = quantity
    else:
        _add_line(session, store, cart, variant_id, check_quantity(quantity), new_cart,
                  touch=False)
    if touch and not new_cart:  # False: taking a step touched the cart already
        _touch(cart)


def do_set_quantity(session: Session, store: Store, customer_id: int, variant_id: int,
                    quantity: int, step: Step | None = None) -> CartView:
    """Set a line's quantity; 0 removes it. A ``step`` that changed the cart already changes
    nothing (a copy of it must not undo what the shopper did since). Commits."""
    if quantity != 0:
        check_quantity(quantity)
    cart = lock_active_cart(session, store.id, customer_id)
    if cart is not None and not _take_step(session, cart, step):
        session.commit()
        return view_lines(store, cart)
    line = next((ln for ln in cart.lines if ln.variant_id == variant_id), None) if cart else None
    if line is None:
        session.rollback()  # and the step with it: nothing changed
        raise NotFound(N_("That item is not in your cart."))
    try:
        set_line(session, store, cart, variant_id, quantity, touch=step is None)
    except Exception:
        session.rollback()
        raise
    session.commit()
    return view_lines(store, cart)  # as just committed (the session keeps it loaded)


def do_merge_guest_cart(session: Session, store: Store, guest_token: str,
                        customer_id: int) -> CartView:
    """The guest is now known by phone: move their guest cart's lines into their own cart.

    Quantities of the same item add up, capped at what can be sold; the guest cart is closed.
    """
    guest = get_guest_cart(session, store.id, guest_token)
    if guest is None:
        return view_cart(session, store, customer_id)
    cart, _ = _get_or_create_active_cart(session, store.id, customer_id)
    inventory.release_reservations(session, store.id, guest.id)
    for line in list(guest.lines):
        existing = next((ln for ln in cart.lines if ln.variant_id == line.variant_id), None)
        wanted = line.quantity + (existing.quantity if existing else 0)
        wanted = min(wanted, MAX_LINE_QUANTITY,
                     inventory.available_quantity(session, store.id, line.variant_id))
        if wanted <= 0:
            continue
        if existing is None:
            cart.lines.append(CartLine(store_id=store.id, variant_id=line.variant_id,
                                       quantity=wanted, unit_price=line.unit_price))
        else:
            existing.quantity = wanted
    guest.status = "merged"
    _touch(cart)
    session.commit()
    return view_cart(session, store, customer_id)


# -- reading -------------------------------------------------------------------------------------
def view_lines(store: Store, cart: Cart | None) -> CartView:
    return _view(store, cart.id if cart else None,
                 ((line.variant_id, line.variant.title, line.quantity, line.variant.price,
                   line.variant.weight_grams) for line in (cart.lines if cart else ())))


def _view(store: Store, cart_id: int | None, lines) -> CartView:
    """``lines``: (variant id, title, quantity, unit price, weight) for each, priced now."""
    shown = []
    for variant_id, title, quantity, price, weight in lines:
        unit = store.money(price)
        shown.append(CartLineView(variant_id, title, quantity, unit, unit * quantity, weight))
    subtotal = sum((ln.total for ln in shown), Money.zero(store.currency))
    return CartView(cart_id, tuple(shown), subtotal)


# Built once, as the home screen (the cart's count) and every quantity prompt read it. Plain
# rows: a screen changes nothing, and the ORM's cart, lines and variants cost more CPU to build
# than the rows (bench/sql_layers.py: a cart ~350 µs through the ORM, ~240 µs as Core).
_ACTIVE_CART_ROWS = (
    select(Cart.id, CartLine.variant_id, CartLine.quantity, Variant.price, Variant.weight_grams,
           Variant.name, Product.name)
    .select_from(Cart)
    .outerjoin(CartLine, CartLine.cart_id == Cart.id)
    .outerjoin(Variant, Variant.id == CartLine.variant_id)
    .outerjoin(Product, Product.id == Variant.product_id)
    .where(Cart.store_id == bindparam("store_id"), Cart.customer_id == bindparam("customer_id"),
           Cart.status == "active")
    .order_by(CartLine.id)
)


def view_cart(session: Session, store: Store, customer_id: int) -> CartView:
    """The customer's active cart as a screen shows it: the cart a service loaded in this
    transaction, if one did, or else read as rows."""
    cart = remembered(session, _active_key(store.id, customer_id))
    if cart is not None and _still_active(session, cart):
        return view_lines(store, cart)
    rows = session.execute(_ACTIVE_CART_ROWS, {"store_id": store.id,
                                               "customer_id": customer_id}).all()
    return _view(store, rows[0][0] if rows else None,
                 ((variant_id, variant_title(product, size), quantity, price, weight)
                  for _, variant_id, quantity, price, weight, size, product in rows
                  if variant_id is not None))  # None: a cart with no lines


# -- abandoned carts -----------------------------------------------------------------------------
def do_detect_abandoned_carts(session: Session, now: datetime | None = None) -> int:
    """Job: record ``cart.abandoned`` once for each customer cart idle past its store's limit."""
    now = now or utcnow()
    found = 0
    for store in session.scalars(select(Store)):
        idle_since = now - timedelta(minutes=store.abandoned_cart_minutes)
        carts = session.scalars(
            select(Cart).where(
                Cart.store_id == store.id, Cart.status == "active",
                Cart.customer_id.is_not(None), Cart.abandoned_at.is_(None),
                Cart.last_activity_at <= idle_since,
            ).with_for_update(skip_locked=True)
        ).all()
        for cart in carts:
            if not cart.lines:
                continue
            cart.abandoned_at = now
            events.record(session, store.id, events.CART_ABANDONED,
                          {"cart_id": cart.id, "customer_id": cart.customer_id})
            found += 1
    session.commit()
    return found


# -- reordering ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderAddedAgain:
    short: list[str]  # titles left out or cut short
    had_items: bool  # the cart held something before (the shopper should see it)


def do_add_order_to_cart(session: Session, store: Store, customer_id: int,
                         order_id: int, step: Step | None = None) -> OrderAddedAgain:
    """Put a past order's items back in the customer's cart, unless the shopper's ``step`` did
    already; commits.

    Items no longer sold, or without stock, are left out (as many as can be sold are added);
    says which were left out or cut short, so the shopper can be told, and whether the cart
    held items before.
    """
    from commerce.orders import get_order  # orders read carts' models only; no cycle at import

    order = get_order(session, store.id, order_id)
    if order.customer_id != customer_id:
        raise NotFound(N_("No such order."))
    short: list[str] = []
    cart, new = _get_or_create_active_cart(session, store.id, customer_id, step)
    if cart is None or (not new and not _take_step(session, cart, step)):
        session.commit()
        if cart is not None:
            remember_active_cart(session, cart)
        return OrderAddedAgain(short, bool(cart and cart.lines))
    had_items = not new and bool(cart.lines)
    for line in order.lines:
        try:
            variant = get_variant(session, store.id, line.variant_id or 0)
        except NotFound:
            short.append(line.title)
            continue
        in_cart = next((ln.quantity for ln in cart.lines if ln.variant_id == variant.id), 0)
        room = most_for_line(session, store.id, None if new else cart.id, variant.id) - in_cart
        quantity = min(line.quantity, room)
        if quantity < line.quantity:
            short.append(line.title)
        if quantity > 0:
            _add_line(session, store, cart, variant.id, quantity, new, touch=step is None)
    session.commit()
    remember_active_cart(session, cart)  # what the screens and checkout after it get, unread
    return OrderAddedAgain(short, had_items)
