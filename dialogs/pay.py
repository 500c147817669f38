"""Paying: placing an order with the chosen way to pay, and paying an unpaid order later.

A mobile-money payment is asked for after the reply: the USSD session ends first (a phone in
a USSD session cannot show the M-Pesa PIN prompt), then a job asks the provider.
"""
from __future__ import annotations

from sqlalchemy import select

from commerce import checkout, drafts
from commerce.errors import DomainError
from commerce.models import Order, Payment
from commerce.money import Money
from commerce.order_payments import paid_total
from dialogs.base import Choice, Conversation, Dialog, Goto, Reply, Turn
from dialogs.i18n import translate
from dialogs.text import N_, pick_from_list, price, with_note
from payments import service as payments
from payments.context import simulation_allowed
from payments.base import LINK, PROMPT, PROMPT_OR_LINK
from payments.gateways import methods_offered_by
from payments.registry import get_provider

PAY_LABELS = {
    "mpesa": N_("Pay with M-Pesa"), "momo": N_("Pay with MTN MoMo"),
    "paystack": N_("Pay by card (link by SMS)"), "flutterwave": N_("Pay by card (link by SMS)"),
    "cod": N_("Pay cash on delivery"),
}
PICKUP_PAY_LABELS = {**PAY_LABELS, "cod": N_("Pay cash at pickup")}
# How a method is named to a shopper (card and cash are translated where they are shown).
METHOD_NAMES = {"mpesa": "M-Pesa", "momo": "MTN MoMo", "paystack": N_("card"),
                "flutterwave": N_("card"), "cod": N_("cash")}
# The wallet whose PIN a card provider's mobile-money prompt asks for, by currency.
WALLETS = {"KES": "M-Pesa"}
OWN_WALLET = ("mpesa", "momo")  # methods that are a wallet themselves


def offered(turn: Turn) -> tuple[str, ...]:
    """The ways to pay this store offers now; empty when it takes no cash and has no gateway
    usable here (say so with ``cannot_pay``, never show an empty menu)."""
    front = turn.storefront()
    return methods_offered_by(front.gateways, simulation_allowed(), front.accepts_cash)


def cannot_pay(turn: Turn) -> str:
    return turn.t("Sorry, this shop cannot take payment here now.")


def pay_choices(turn: Turn, pickup: bool, amount: Money,
                online_only: bool = False) -> list[Choice]:
    """The ways to pay ``amount`` to offer: those the store takes that can carry it (M-Pesa
    takes no cents); nothing to pay: one choice, to place the order."""
    labels = PICKUP_PAY_LABELS if pickup else PAY_LABELS
    methods = [method for method in payable_methods(turn, amount)
               if not (online_only and method == "cod")]
    if amount.amount == 0 and methods:
        return [Choice(f"pay:{methods[-1]}", turn.t("Place order (nothing to pay)"))]

    def label(method: str) -> str:
        if _card_prompting_for_a_wallet(turn, method, amount.currency):
            return turn.t("Pay with {wallet}", wallet=turn.t(wallet_of(method, amount.currency)))
        return turn.t(labels.get(method, method))

    return [Choice(f"pay:{method}", label(method)) for method in methods]


def payable_methods(turn: Turn, amount: Money) -> list[str]:
    """The ways the store offers (``offered``) that can carry ``amount``: cash always, a
    provider if it says so as the store set it up (``Provider.can_collect``: M-Pesa takes no
    cents)."""
    return [method for method in offered(turn) if method == "cod" or get_provider(method)
            .can_collect(_settings_of(turn, method), amount)]


def _card_prompting_for_a_wallet(turn: Turn, method: str, currency: str) -> bool:
    """A card provider that asks by a wallet's prompt here (Flutterwave in KES: M-Pesa)."""
    return method not in OWN_WALLET and method != "cod" and \
        how_asked(turn, method, currency) != LINK


def how_asked(turn: Turn, method: str, currency: str) -> str:
    """How ``method``'s provider will ask the shopper (``payments.base.PROMPT``, ``LINK`` or
    ``PROMPT_OR_LINK``), by the store's settings for it (Paystack: card or mobile money) and
    the currency (Flutterwave: a wallet where the currency has one)."""
    return get_provider(method).how_asked(_settings_of(turn, method), currency)


def _settings_of(turn: Turn, method: str) -> dict:
    """The store's settings for ``method``'s gateway (Paystack: card or mobile money)."""
    return next((gateway.settings for gateway in turn.storefront().gateways
                 if gateway.provider == method), {})


def payment_name(turn: Turn, method: str, currency: str) -> str:
    """What a shopper calls paying by ``method`` here (untranslated): the wallet its prompt is
    for, or "card" for a card provider sending a link."""
    if method in OWN_WALLET or _card_prompting_for_a_wallet(turn, method, currency):
        return wallet_of(method, currency)
    return METHOD_NAMES[method]


def wallet_of(method: str, currency: str) -> str:
    """The wallet whose PIN ``method``'s prompt asks for (untranslated)."""
    if method in OWN_WALLET:
        return METHOD_NAMES[method]
    return WALLETS.get(currency, N_("mobile money"))


def chosen_method(turn: Turn) -> str | None:
    method = (turn.choice or "").removeprefix("pay:")
    return method if turn.choice and method in offered(turn) else None


def place_and_pay(turn: Turn, method: str, cart_id: int | None = None,
                  shown_total: int | None = None) -> Reply | Goto:
    """Place the cart as an order paid by ``method`` and, for online methods, ask for it.
    Raises ``TotalChanged`` when the total is not the ``shown_total`` the shopper confirmed."""
    try:
        order = checkout.do_place_order(turn.db, turn.store, turn.customer.id,
                                        cart_id=cart_id, payment_method=method,
                                        shown_total=shown_total)
    except checkout.TotalChanged:
        raise  # the summary shows the new total
    except DomainError as error:
        return Goto("cart", {"note": turn.t_error(error)})
    return ask_for_payment(turn, order, method)


def ask_for_payment(turn: Turn, order: Order, method: str) -> Reply:
    if method == "cod" or order.financial_status == "paid":  # paid: there was nothing to pay
        return placed_reply(turn, order)
    try:
        payment = payments.do_request_payment(turn.db, turn.store, order.id, method,
                                              phone=turn.customer.phone,
                                              allow_simulated=simulation_allowed())
    except DomainError as error:  # the order stands; they can pay from My orders
        return Reply(turn.t("Order #{number} is placed.", number=order.number) + " "
                     + turn.t_error(error), ends=True)
    turn.db.refresh(payment)  # without a job queue the provider was asked already
    if payment.status in ("failed", "cancelled", "expired"):
        return Reply(turn.t("Order #{number} is placed.", number=order.number) + " "
                     # translated where a catalog has it (ours: payments.service.NO_ANSWER)
                     + translate(turn.locale, payment.failure_reason
                                 or N_("The payment did not go through."))
                     + " " + turn.t("To pay, choose My orders."), ends=True)
    return placed_reply(turn, order, payment)


def placed_reply(turn: Turn, order: Order, payment: Payment | None = None) -> Reply:
    total = price(order.total_money, turn)
    placed = turn.t("Asante! Order #{number} is placed.", number=order.number)
    if order.financial_status == "paid":
        return Reply(placed + " " + turn.t("There is nothing to pay.") + " "
                     + turn.t("We will SMS you a receipt."), ends=True)
    if payment is None:
        if order.delivery_method == "pickup":
            how = turn.t("Pay {total} cash when you collect.", total=total)
        else:
            how = turn.t("Pay {total} cash on delivery.", total=total)
        return Reply(placed + " " + how + " " + turn.t("We will SMS you a receipt."), ends=True)
    due = price(turn.store.money(payment.amount), turn)
    asked = how_asked(turn, payment.method, payment.currency)
    if payment.status == "pending" and not payment.provider_reference:
        # A prompt whose answer was lost (payments.http.no_answer): it may be on the phone, or
        # have been cancelled; it is not sent again, as that could charge twice.
        how = turn.t("If the {wallet} prompt is still on your phone, enter your PIN to pay "
                     "{total}. If not, try again in a few minutes.",
                     wallet=turn.t(wallet_of(payment.method, payment.currency)), total=due)
    elif asked == PROMPT:
        how = turn.t("Enter your {wallet} PIN when asked, to pay {total}.",
                     wallet=turn.t(wallet_of(payment.method, payment.currency)), total=due)
    elif asked == PROMPT_OR_LINK:
        how = turn.t("Approve on your phone when asked, or open the link we SMS you, to pay "
                     "{total}.", total=due)
    else:
        how = turn.t("We will SMS you a link to pay {total}.", total=due)
    if payment.simulated:
        how += " " + turn.t("(SIMULATED: no real money)")
    return Reply(placed + " " + how, ends=True)


def owed(turn: Turn, order: Order) -> Money:
    """What ``order`` still owes: part may have been paid already (in cash, say)."""
    return turn.store.money(order.total - paid_total(turn.db, turn.store.id, order.id))


class PayDialog(Dialog):
    """Pay an order still awaiting payment, or a merchant's draft (which places it).
    Context: ``order_id``."""

    name = "pay"
    parent = "orders"
    states = ["method"]
    initial = "method"

    def _order(self, turn: Turn, conv: Conversation) -> Order | None:
        return turn.db.scalar(select(Order).where(
            Order.id == conv.context.get("order_id"), Order.store_id == turn.store.id,
            Order.customer_id == turn.customer.id))

    def show_method(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        order = self._order(turn, conv)
        if order is None or order.financial_status != "pending" or order.status == "cancelled":
            return Goto("orders")
        due = owed(turn, order)  # what a payment asks for
        # A merchant's draft has no way to pay yet: cash is one of the choices. A placed order
        # was placed as cash or as a payment that did not go through: only paying online.
        choices = pay_choices(turn, pickup=order.delivery_method == "pickup", amount=due,
                              online_only=order.status != "draft")
        cash_on_arrival = order.status != "draft" and (
            order.payment_method == "cod" or "cod" in offered(turn))
        if not choices and cash_on_arrival:
            return Reply(with_note(note, turn.t("Pay {total} cash when your order arrives.",
                                                total=price(due, turn))))
        if not choices:  # no cash and no gateway: say so, with a way back
            return Reply(with_note(note, cannot_pay(turn)))
        return Reply(with_note(note, turn.t("Pay {total} for order #{number}:",
                                            total=price(due, turn), number=order.number)),
                     tuple(choices))

    def on_method(self, turn: Turn, conv: Conversation):
        order, method = self._order(turn, conv), chosen_method(turn)
        if order is None:
            return Goto("orders")
        if method is None or (method == "cod" and order.status != "draft"):
            return self.reprompt(turn, conv, pick_from_list(turn))
        if order.status == "draft":  # accepting the merchant's draft places it
            try:
                order = drafts.do_complete_draft(turn.db, turn.store, order.draft_token, method)
            except DomainError as error:
                return Goto("orders", {"note": turn.t_error(error)})
        return ask_for_payment(turn, order, method)
