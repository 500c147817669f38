"""Checkout: pickup or delivery (with an address), optional discount code, pay → placed."""
from __future__ import annotations

import re
import textwrap

from commerce import carts, checkout, customers, shipping
from commerce.errors import DomainError, EmptyCart
from commerce.promotions import DiscountRefused
from dialogs.base import Choice, Conversation, Dialog, Goto, Reply, Turn
from dialogs.pay import cannot_pay, chosen_method, offered, pay_choices, place_and_pay
from dialogs.text import pick_from_list, price, with_note


_SHARED_LOCATION = re.compile(r"\(-?\d+(\.\d+)?,-?\d+(\.\d+)?\)$")


def location_text(name: str, latitude: float, longitude: float) -> str:
    """A location the shopper shared (a WhatsApp pin), as the text the address question takes."""
    return f"{name} ({latitude:.5f},{longitude:.5f})".strip()


def looks_like_address(text: str) -> bool:
    """What a shopper typed is words a rider can find, or a location they shared
    (``location_text``), not a menu key typed by mistake ("98", "3")."""
    text = text.strip()
    return bool(_SHARED_LOCATION.search(text)) or (
        len(text) >= 5 and sum(c.isalpha() for c in text) >= 3)


def _short(address: str) -> str:
    """A saved address as a choice: enough to tell it (the choice picks it whole), and short
    enough that the question and a choice share a screen."""
    short = textwrap.shorten(address, 60, placeholder="..")
    # typed without spaces ("stage56,bluegate,..."), shorten keeps no word: keep its start
    return short if short != ".." else address[:58] + ".."


def _zones(turn: Turn):
    return turn.storefront().zones


def _pickup_points(turn: Turn):
    return turn.storefront().pickup_points


def after_adding(turn: Turn) -> Goto:
    """Where a shopper lands once something is in their cart: how they want the order, which
    starts checkout one hop nearer paying (so a first purchase by delivery, address and all,
    fits in 7 hops), with the cart's total and a way to shop on. The cart itself where there
    is no pickup or delivery to choose, or no way to pay (it says so on Checkout)."""
    if offered(turn) and (_zones(turn) or _pickup_points(turn)):
        return Goto("checkout", {"added": True})
    return Goto("cart")


def code_dropped(turn: Turn, refused: DiscountRefused) -> str:
    """Why the cart's discount code no longer applies, and that it is off the cart now."""
    return turn.t_error(refused) + " " + turn.t("It is taken off your cart.")


def start_checkout(turn: Turn) -> str | None:
    """Hold the cart's stock while the shopper chooses and pays (``do_start_checkout``): None
    once started, else what to say on the cart ("" when it was emptied on another channel: the
    cart itself says so)."""
    try:
        checkout.do_start_checkout(turn.db, turn.store, turn.customer.id)
    except EmptyCart:
        return ""
    except DiscountRefused as error:  # taken off the cart: checking out again goes on
        return code_dropped(turn, error)
    except DomainError as error:  # e.g. stock gone: on the cart, where it can be changed
        return turn.t_error(error)
    return None


class CheckoutDialog(Dialog):
    """Context: ``cart_id``, the cart whose stock ``do_start_checkout`` is holding; or
    ``added``: reached just after adding to the cart, checkout not started until a pickup
    point or a delivery zone is chosen."""

    name = "checkout"
    parent = "cart"
    states = ["method", "address", "summary", "discount"]
    typed_states = frozenset({"address", "discount"})
    initial = "method"
    transitions = [
        {"trigger": "deliver", "source": "method", "dest": "address"},
        {"trigger": "chosen", "source": ["method", "address"], "dest": "summary"},
        {"trigger": "enter_code", "source": "summary", "dest": "discount"},
        {"trigger": "applied", "source": "discount", "dest": "summary"},
        {"trigger": "back", "source": "address", "dest": "method"},
        {"trigger": "back", "source": "summary", "dest": "method"},
        {"trigger": "back_to_address", "source": "summary", "dest": "address"},
        {"trigger": "back", "source": "discount", "dest": "summary"},
    ]

    def enter(self, turn: Turn, context: dict, state: str | None = None):
        if state is None and not _zones(turn) and not _pickup_points(turn):
            # nothing to choose: straight to paying, and back from there to the cart
            state, context = "summary", {**context, "no_method": True}
        return super().enter(turn, context, state)

    def back_trigger(self, conv: Conversation) -> str | None:
        if conv.state == "summary" and conv.context.get("no_method"):
            return None  # the parent: the cart, not an empty choice of delivery
        if conv.state == "summary" and "zone_id" in conv.context:
            return "back_to_address"  # the screen before it, where the address was given
        return super().back_trigger(conv)

    # -- pickup or delivery ---------------------------------------------------------------------
    def show_method(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        t = turn.t
        view = turn.cart()
        if not view.lines:  # emptied (an item taken off sale): the cart says why
            return Goto("cart", {"note": note} if note else {})
        choices = [Choice(f"pickup:{p.id}", t("Pick up at {place}", place=p.name))
                   for p in _pickup_points(turn)]
        for zone in _zones(turn):
            try:
                cost = shipping.cheapest_rate(zone.name, zone.rates, view.weight_grams,
                                              view.subtotal.amount)
            except DomainError:
                continue  # this zone cannot take this order
            label = t("Delivery {zone} {price}", zone=zone.name,
                      price=price(turn.store.money(cost), turn) if cost else t("free"))
            choices.append(Choice(f"zone:{zone.id}", label))
        if not choices:  # never a menu with nothing on it: say why, on the cart
            return Goto("cart", {"note": t(
                "Sorry, we cannot deliver this order and there is no pickup.")})
        if conv.context.get("added"):  # what the cart comes to, and shopping on
            note = with_note(note, t("Total {total}", total=price(view.subtotal, turn)))
            choices += [Choice("shop", t("Add more")), Choice("cart", t("My cart"))]
        return Reply(with_note(note, t("How do you want your order?")), tuple(choices))

    def on_method(self, turn: Turn, conv: Conversation):
        if conv.context.get("added") and turn.choice in ("shop", "cart"):
            return Goto("home" if turn.choice == "shop" else "cart")
        kind, _, ident = (turn.choice or "").partition(":")
        if kind in ("pickup", "zone") and "cart_id" not in conv.context:
            started = self._start(turn, conv)
            if started is not None:
                return started
        if kind == "pickup" and ident.isdecimal():
            try:
                checkout.do_choose_pickup(turn.db, turn.store, turn.customer.id, int(ident))
            except DomainError as error:
                return self.reprompt(turn, conv, turn.t_error(error))
            return "chosen"
        if kind == "zone" and ident.isdecimal():
            conv.context["zone_id"] = int(ident)
            return "deliver"
        return self.reprompt(turn, conv, pick_from_list(turn))

    def _start(self, turn: Turn, conv: Conversation):
        """Start checkout for the cart just added to; None once started, else the cart, which
        says why not."""
        refused = start_checkout(turn)
        if refused is not None:
            return Goto("cart", {"note": refused} if refused else {})
        conv.context["cart_id"] = turn.cart().cart_id
        del conv.context["added"]  # back here later, nothing was just added
        return None

    # -- address --------------------------------------------------------------------------------
    def show_address(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        saved = customers.list_addresses(turn.db, turn.store, turn.customer.id)[-3:]
        if saved:
            return Reply(with_note(note, turn.t("Deliver to? Or type a new address:")),
                         tuple(Choice(f"a:{a.id}", _short(a.text)) for a in reversed(saved)))
        return Reply(with_note(note, turn.t(
            "Type your delivery address and a landmark, e.g. Kawangware stage 56, blue gate:")))

    def on_address(self, turn: Turn, conv: Conversation):
        try:
            if (turn.choice or "").startswith("a:"):
                address = customers.get_address(turn.db, turn.store, turn.customer.id,
                                                int(turn.choice[2:]))
            elif turn.text.strip() and not looks_like_address(turn.text):
                # a menu key ("98", "3") or a few characters: not saved, asked again
                return self.reprompt(turn, conv, turn.t("That does not look like an address."))
            elif turn.text.strip():
                address = customers.do_remember_address(turn.db, turn.store,
                                                        turn.customer.id, turn.text)
            else:
                return self.reprompt(turn, conv, turn.t("Please type your address."))
            checkout.do_choose_delivery(turn.db, turn.store, turn.customer.id,
                                        conv.context["zone_id"], address.text, address.landmark)
        except DomainError as error:
            return self.reprompt(turn, conv, turn.t_error(error))
        return "chosen"

    # -- summary and paying ---------------------------------------------------------------------
    def show_summary(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        t = turn.t
        cart = carts.get_active_cart(turn.db, turn.store.id, turn.customer.id)
        if cart is None or not cart.lines:
            return Goto("cart")
        if cart.delivery_method == "delivery" and cart.shipping_zone_id:
            conv.context["zone_id"] = cart.shipping_zone_id  # back goes to its address
        else:
            conv.context.pop("zone_id", None)  # back goes to the choice of how
        try:
            checkout.check_discount_applies(turn.db, turn.store, cart)
            totals = checkout.compute_totals(turn.db, turn.store, cart)
        except DiscountRefused as error:  # the code ran out meanwhile: off, show again
            return self.reprompt(turn, conv, code_dropped(turn, error))
        except DomainError as error:  # e.g. the delivery zone closed: choose again
            return Goto("checkout", {**conv.context, "note": turn.t_error(error)}, state="method")
        lines = [t("Total {total}", total=price(totals.total, turn))]
        if totals.shipping.amount:
            lines.append(t("incl. delivery {price}", price=price(totals.shipping, turn)))
        if totals.discount.amount:
            lines.append(t("after {code} -{price}", code=cart.discount_code,
                           price=price(totals.discount, turn)))
        conv.context["total"] = totals.total.amount  # what paying confirms
        choices = pay_choices(turn, pickup=cart.delivery_method == "pickup",
                              amount=totals.total)
        if not choices:  # the store stopped taking cash and has no gateway: say so, on the cart
            return Goto("cart", {"note": cannot_pay(turn)})
        if cart.discount_code:  # to try another, or go on without it
            choices.append(Choice("no_code", t("Remove discount code")))
        else:
            choices.append(Choice("code", t("Discount code")))
        return Reply(with_note(note, "\n".join(lines)), tuple(choices))

    def on_summary(self, turn: Turn, conv: Conversation):
        if turn.choice == "code":
            return "enter_code"
        if turn.choice == "no_code":
            try:
                code = checkout.do_remove_discount_code(turn.db, turn.store, turn.customer.id)
            except EmptyCart:
                code = None  # emptied on another channel: the summary goes to the cart
            return self.reprompt(turn, conv, turn.t("{code} is taken off your cart.", code=code)
                                 if code else "")
        method = chosen_method(turn)
        if method is None:
            return self.reprompt(turn, conv, pick_from_list(turn))
        try:
            return place_and_pay(turn, method, cart_id=conv.context.get("cart_id"),
                                 shown_total=conv.context.get("total"))
        except checkout.TotalChanged as error:  # e.g. a delivery rate changed: look again
            return self.reprompt(turn, conv, turn.t_error(error))

    def show_discount(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        return Reply(with_note(note, turn.t("Type your discount code:")))

    def on_discount(self, turn: Turn, conv: Conversation):
        if not turn.text.strip():
            return self.reprompt(turn, conv, turn.t("Please type your discount code."))
        try:
            checkout.do_apply_discount_code(turn.db, turn.store, turn.customer.id, turn.text)
        except DomainError as error:
            return self.reprompt(turn, conv, turn.t_error(error))
        return "applied"

