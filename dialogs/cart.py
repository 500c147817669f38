"""The cart: see it, change quantities, go to checkout."""
from __future__ import annotations

from commerce import carts
from commerce.errors import DomainError
from dialogs.base import Choice, Conversation, Dialog, Goto, Reply, Turn
from dialogs.checkout import start_checkout
from dialogs.pay import cannot_pay, offered
from dialogs.text import LINES_SHOWN, pick_from_list, price, with_note



class CartDialog(Dialog):
    name = "cart"
    states = ["view", "pick_line", "line", "quantity"]
    initial = "view"
    transitions = [
        {"trigger": "edit", "source": "view", "dest": "pick_line"},
        {"trigger": "pick", "source": "pick_line", "dest": "line"},
        {"trigger": "change", "source": "line", "dest": "quantity"},
        {"trigger": "changed", "source": ["line", "quantity"], "dest": "view"},
        {"trigger": "back", "source": "pick_line", "dest": "view"},
        {"trigger": "back", "source": "line", "dest": "pick_line"},
        {"trigger": "back", "source": "quantity", "dest": "line"},
    ]

    def show_view(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        t = turn.t
        cart = turn.cart()
        if not cart.lines:
            empty = t("Your cart is empty.")  # said once, though it is also why they are here
            return Reply(with_note("" if note == empty else note, empty),
                         (Choice("shop", t("Shop")),))
        rows = [f"{ln.quantity}x {ln.title} {price(ln.total, turn)}"
                for ln in cart.lines[:LINES_SHOWN]]
        if len(cart.lines) > LINES_SHOWN:
            rows.append(t("+{count} more", count=len(cart.lines) - LINES_SHOWN))
        rows.append(t("Total {total}", total=price(cart.subtotal, turn)))
        return Reply(with_note(note, "\n".join(rows)),
                     (Choice("checkout", t("Checkout")), Choice("shop", t("Add more")),
                      Choice("edit", t("Change quantities"))))

    def on_view(self, turn: Turn, conv: Conversation):
        if turn.choice == "shop":
            return Goto("home")
        if turn.choice == "edit" and turn.cart().lines:
            return "edit"
        if turn.choice == "checkout":
            if not offered(turn):  # no cash, no gateway: not worth choosing delivery for
                return self.reprompt(turn, conv, cannot_pay(turn))
            # Not read here first: the service reads the cart (and refuses an empty one), and
            # the screens after it get the cart it saved, unread.
            refused = start_checkout(turn)
            if refused is not None:
                return self.reprompt(turn, conv, refused)
            return Goto("checkout", {"cart_id": turn.cart().cart_id})
        return self.reprompt(turn, conv, pick_from_list(turn))

    def show_pick_line(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        cart = turn.cart()
        return Reply(with_note(note, turn.t("Change which item?")),
                     tuple(Choice(f"v:{ln.variant_id}",
                                  f"{ln.quantity}x {ln.title} {price(ln.total, turn)}")
                           for ln in cart.lines))

    def on_pick_line(self, turn: Turn, conv: Conversation):
        cart = turn.cart()
        if not any(turn.choice == f"v:{ln.variant_id}" for ln in cart.lines):
            return self.reprompt(turn, conv, pick_from_list(turn))
        conv.context["variant_id"] = int(turn.choice[2:])
        return "pick"

    def _line(self, turn: Turn, conv: Conversation):
        cart = turn.cart()
        return next((ln for ln in cart.lines if ln.variant_id == conv.context["variant_id"]),
                    None)

    def show_line(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        line = self._line(turn, conv)
        if line is None:
            return Goto("cart")
        return Reply(with_note(note, f"{line.quantity}x {line.title}"),
                     (Choice("change", turn.t("Change quantity")),
                      Choice("remove", turn.t("Remove"))))

    def on_line(self, turn: Turn, conv: Conversation):
        if turn.choice == "change":
            return "change"
        if turn.choice == "remove":
            turn.cart_changed(carts.do_set_quantity(turn.db, turn.store, turn.customer.id,
                                                    conv.context["variant_id"], 0, turn.step))
            return "changed"
        return self.reprompt(turn, conv, pick_from_list(turn))

    def _most(self, turn: Turn, conv: Conversation) -> int:
        return carts.most_for_line(turn.db, turn.store.id, turn.cart().cart_id,
                                   conv.context["variant_id"])

    def show_quantity(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        line = self._line(turn, conv)
        if line is None:
            return Goto("cart")
        most = self._most(turn, conv)
        if most == 0:  # not "(1-1)": none to be had, said where the line can be removed
            self.move(conv, "back")
            return self.reprompt(turn, conv, turn.t("Sorry, {name} is sold out.",
                                                    name=line.title))
        return Reply(with_note(note, turn.t("How many {name}? (1-{most})", name=line.title,
                                            most=most)))

    def on_quantity(self, turn: Turn, conv: Conversation):
        text = turn.text.strip()
        if not text.isdecimal() or not 1 <= int(text) <= carts.MAX_LINE_QUANTITY:
            return self.reprompt(turn, conv, turn.t("Please enter a number from 1 to {most}.",
                                                    most=self._most(turn, conv)))
        try:
            turn.cart_changed(carts.do_set_quantity(turn.db, turn.store, turn.customer.id,
                                                    conv.context["variant_id"], int(text),
                                                    turn.step))
        except DomainError as error:
            return self.reprompt(turn, conv, turn.t_error(error))
        return "changed"
