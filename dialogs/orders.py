"""My orders: the latest five, their status and tracking, and ordering again in one step."""
from __future__ import annotations

from sqlalchemy import select

from commerce import carts, checkout, orders, shipping
from commerce.errors import DomainError
from commerce.models import Fulfilment, Order
from dialogs.base import Choice, Conversation, Dialog, Goto, Reply, Turn
from dialogs.pay import ask_for_payment, cannot_pay, owed, payable_methods, payment_name
from dialogs.text import LINES_SHOWN, N_, pick_from_list, price, with_note

LATEST = 5
STATUS_WORDS = {
    "draft": N_("Draft"), "pending_payment": N_("Awaiting payment"), "paid": N_("Paid"),
    "processing": N_("Being prepared"), "ready_for_pickup": N_("Ready for pickup"),
    "shipped": N_("On the way"), "delivered": N_("Delivered"), "completed": N_("Completed"),
    "cancelled": N_("Cancelled"), "returned": N_("Returned"),
}


def _status_word(order: Order) -> str:
    # A merchant's draft, sent for the shopper to pay, is to them an order awaiting payment.
    return STATUS_WORDS["pending_payment" if order.status == "draft" else order.status]


class OrdersDialog(Dialog):
    name = "orders"
    states = ["list", "detail"]
    initial = "list"
    transitions = [
        {"trigger": "open", "source": "list", "dest": "detail"},
        {"trigger": "back", "source": "detail", "dest": "list"},
    ]

    def _latest(self, turn: Turn) -> list[Order]:
        return list(turn.db.scalars(
            select(Order).where(Order.store_id == turn.store.id,
                                Order.customer_id == turn.customer.id)
            .order_by(Order.id.desc()).limit(LATEST)))

    def show_list(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        orders = self._latest(turn)
        if not orders:
            return Reply(with_note(note, turn.t("You have no orders yet.")))
        return Reply(with_note(note, turn.t("Your orders:")), tuple(
            Choice(f"o:{o.id}", f"#{o.number} {price(o.total_money, turn)} "
                                f"{turn.t(_status_word(o))}")
            for o in orders))

    def on_list(self, turn: Turn, conv: Conversation):
        ids = {f"o:{o.id}" for o in self._latest(turn)}
        if turn.choice not in ids:
            return self.reprompt(turn, conv, pick_from_list(turn))
        conv.context["order_id"] = int(turn.choice[2:])
        return "open"

    def _order(self, turn: Turn, conv: Conversation) -> Order | None:
        return turn.db.scalar(select(Order).where(
            Order.id == conv.context.get("order_id"), Order.store_id == turn.store.id,
            Order.customer_id == turn.customer.id))

    def show_detail(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        order = self._order(turn, conv)
        if order is None:
            return Goto("orders")
        rows = [f"#{order.number} {turn.t(_status_word(order))}"]
        tracking = turn.db.scalar(select(Fulfilment.tracking_number).where(
            Fulfilment.order_id == order.id, Fulfilment.store_id == turn.store.id,
            Fulfilment.tracking_number.is_not(None)).order_by(Fulfilment.id.desc()))
        if tracking:
            rows.append(turn.t("Tracking {number}", number=tracking))
        # As the cart shows its lines: whole, a few, and how many more (the receipt has all)
        rows += [f"{line.quantity}x {line.title}" for line in order.lines[:LINES_SHOWN]]
        if len(order.lines) > LINES_SHOWN:
            rows.append(turn.t("+{count} more", count=len(order.lines) - LINES_SHOWN))
        rows.append(turn.t("Total {total}", total=price(order.total_money, turn)))
        choices = []
        if order.status == "draft":  # the merchant's draft: paying is all there is to do
            return Reply(with_note(note, "\n".join(rows)), (Choice("pay", turn.t("Pay now")),))
        if order.financial_status == "pending" and order.status == "pending_payment" and any(
                method != "cod" for method in payable_methods(turn, owed(turn, order))):
            choices.append(Choice("pay", turn.t("Pay now")))
        method = self._reorder_method(turn, order)
        if method is not None:  # None: the store takes no payment here now
            again = (turn.t("Order again, pay cash") if method == "cod" else
                     turn.t("Order again, pay with {wallet}",
                            wallet=turn.t(payment_name(turn, method, order.currency))))
            choices.append(Choice("again", again))
        return Reply(with_note(note, "\n".join(rows)), tuple(choices))

    @staticmethod
    def _reorder_method(turn: Turn, previous: Order) -> str | None:
        """Pay as last time if the store still takes it; otherwise cash, if the store takes
        it; otherwise the first way it offers. None: it offers none. Only ways that can carry
        the last total (M-Pesa takes no cents)."""
        # The last total before its discount: the code is not applied again.
        methods = payable_methods(turn, turn.store.money(previous.total + previous.discount_total))
        if previous.payment_method in methods:
            return previous.payment_method
        return "cod" if "cod" in methods else next(iter(methods), None)

    def on_detail(self, turn: Turn, conv: Conversation):
        order = self._order(turn, conv)
        if turn.choice == "pay" and order is not None:
            return Goto("pay", {"order_id": order.id})
        if turn.choice != "again" or order is None:
            return self.reprompt(turn, conv, pick_from_list(turn))
        try:
            added = carts.do_add_order_to_cart(turn.db, turn.store, turn.customer.id, order.id,
                                               turn.step)
        except DomainError as error:
            return self.reprompt(turn, conv, turn.t_error(error))
        short = added.short
        view = carts.view_cart(turn.db, turn.store, turn.customer.id)
        if added.had_items or short or not view.lines:
            note = (turn.t("Not all items are available: {names}.", names=", ".join(short))
                    if short else turn.t("Added to your cart."))
            return Goto("cart", {"note": note})
        repriced = orders.repriced_titles(
            order, {line.variant_id: line.unit_price.amount for line in view.lines})
        if repriced:  # the cart shows the new prices and total before anything is charged
            return Goto("cart", {"note": turn.t(
                "New price since order #{number}: {names}.", number=order.number,
                names=", ".join(repriced))})
        return self._place_like(turn, order)

    def _place_like(self, turn: Turn, previous: Order):
        """The same delivery (or pickup) and way of paying as last time."""
        method = self._reorder_method(turn, previous)
        if method is None:  # the store stopped taking payment since the screen showed
            return Goto("cart", {"note": cannot_pay(turn)})
        try:
            if previous.delivery_method == "pickup" and previous.pickup_point_id:
                checkout.do_choose_pickup(turn.db, turn.store, turn.customer.id,
                                          previous.pickup_point_id)
            elif previous.delivery_method == "delivery" and previous.shipping_zone_id:
                shipping.get_zone(turn.db, turn.store.id, previous.shipping_zone_id)
                checkout.do_choose_delivery(turn.db, turn.store, turn.customer.id,
                                            previous.shipping_zone_id, previous.address_text,
                                            previous.address_landmark)
            totals = checkout.do_start_checkout(turn.db, turn.store, turn.customer.id)
            if totals.total.amount != previous.total:
                # Same prices, yet delivery, tax or a discount came out otherwise: the summary
                # shows the new total and the shopper confirms it.
                return Goto("checkout", {"cart_id": turn.cart().cart_id, "note": turn.t(
                    "Order #{number} was {was}.", number=previous.number,
                    was=price(previous.total_money, turn))}, state="summary")
            order = checkout.do_place_order(turn.db, turn.store, turn.customer.id,
                                            payment_method=method,
                                            shown_total=totals.total.amount)
        except DomainError as error:
            return Goto("cart", {"note": turn.t_error(error)})
        return ask_for_payment(turn, order, method)
