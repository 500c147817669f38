"""The order state machine: which status an order may move to next, who moved it and why.

    draft ──place──► pending_payment ──pay──► paid ──process──► processing
                          │  (cod only) ──process──────────────►   │
    paid | processing ──ship (not pickup)──► shipped ──deliver──► delivered ──complete──► completed
    paid | processing ──ready (pickup)──► ready_for_pickup ──deliver (collected)──► delivered
    draft | pending_payment | paid | processing ──cancel──► cancelled
    delivered | completed ──return──► returned

The machine is built once at import; each move runs it on a throwaway ``_Flow`` holding the
order's status, so the machine never holds a database object. ``status`` only ever changes here;
``financial_status`` and ``fulfilment_status`` are derived by payments, fulfilments and refunds.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from transitions import Machine

from commerce import events, inventory
from commerce.db import committing
from commerce.errors import DomainError, NotFound
from commerce.models import Order, OrderLine, OrderStatusChange, Store

STATES = ["draft", "pending_payment", "paid", "processing", "ready_for_pickup", "shipped",
          "delivered", "completed", "cancelled", "returned"]

TRANSITIONS = [
    {"trigger": "place", "source": "draft", "dest": "pending_payment"},
    {"trigger": "pay", "source": "pending_payment", "dest": "paid"},
    {"trigger": "process", "source": "paid", "dest": "processing"},
    # Cash on delivery: the goods go out before the money comes in.
    {"trigger": "process", "source": "pending_payment", "dest": "processing",
     "conditions": "is_cod"},
    {"trigger": "ship", "source": ["paid", "processing"], "dest": "shipped",
     "conditions": "is_delivery"},
    {"trigger": "ready", "source": ["paid", "processing"], "dest": "ready_for_pickup",
     "conditions": "is_pickup"},
    {"trigger": "deliver", "source": ["shipped", "ready_for_pickup"], "dest": "delivered"},
    {"trigger": "complete", "source": "delivered", "dest": "completed", "conditions": "is_paid"},
    {"trigger": "cancel", "source": ["draft", "pending_payment", "paid", "processing"],
     "dest": "cancelled"},
    {"trigger": "return", "source": ["delivered", "completed"], "dest": "returned"},
]

machine = Machine(model=None, states=STATES, transitions=TRANSITIONS, initial="draft",
                  auto_transitions=False)

# Triggers a merchant fires directly. The others follow from a recorded fact (a payment, a
# fulfilment, a delivery, a return) and are fired by the module that records it, so that the
# status never disagrees with the financial and fulfilment statuses.
MERCHANT_TRIGGERS = ("process", "cancel", "complete")
DEDICATED_ACTION = {
    "place": "complete the draft order",
    "pay": "record a payment",
    "ship": "fulfil the order",
    "ready": "fulfil the order",
    "deliver": "mark it delivered",
    "return": "refund the returned items",
}

# ``pay`` has none: order_payments records ``order.paid`` whenever an order becomes fully paid,
# cash-on-delivery orders included, which this status change alone would miss.
EVENT_FOR_TRIGGER = {
    "place": events.ORDER_PLACED, "process": events.ORDER_PROCESSING,
    "ship": events.ORDER_SHIPPED, "ready": events.ORDER_READY_FOR_PICKUP,
    "deliver": events.ORDER_DELIVERED, "complete": events.ORDER_COMPLETED,
    "cancel": events.ORDER_CANCELLED, "return": events.ORDER_RETURNED,
}

STATUS_WORDS = {
    "draft": "a draft", "pending_payment": "awaiting payment", "paid": "paid",
    "processing": "being prepared", "ready_for_pickup": "ready for pickup",
    "shipped": "shipped", "delivered": "delivered", "completed": "completed",
    "cancelled": "cancelled", "returned": "returned",
}
DONE_WORDS = {
    "place": "placed", "pay": "marked paid", "process": "prepared", "ship": "shipped",
    "ready": "made ready for pickup", "deliver": "delivered", "complete": "completed",
    "cancel": "cancelled", "return": "returned",
}


class InvalidTransition(DomainError):
    code = "invalid_transition"


class InvalidReason(DomainError):
    code = "invalid_reason"


def check_reason(reason: str) -> str:
    """A reason as stored in the history: trimmed, and short enough to keep whole."""
    reason = (reason or "").strip()
    if len(reason) > 300:
        raise InvalidReason("Please give a shorter reason (300 characters at most).")
    return reason


class _Flow:
    """What the machine moves: an order's status plus the facts its conditions look at.

    A condition that says no leaves ``refusal`` so the merchant is told why, not just "no".
    """

    def __init__(self, order: Order):
        self.state = order.status
        self.number = order.number
        self.payment_method = order.payment_method
        self.delivery_method = order.delivery_method
        self.financial_status = order.financial_status
        self.refusal = ""

    def is_cod(self) -> bool:
        if self.payment_method == "cod":
            return True
        self.refusal = (f"Order #{self.number} is awaiting payment; "
                        "it cannot be prepared until it is paid.")
        return False

    def is_pickup(self) -> bool:
        if self.delivery_method == "pickup":
            return True
        self.refusal = (f"Order #{self.number} is for delivery; "
                        "it cannot be made ready for pickup.")
        return False

    def is_delivery(self) -> bool:
        # An order with no delivery method (a draft, or a checkout that skipped the step)
        # leaves the shop the way the merchant arranged: that counts as shipping.
        if self.delivery_method != "pickup":
            return True
        self.refusal = f"Order #{self.number} is for pickup; it cannot be shipped."
        return False

    def is_paid(self) -> bool:
        if self.financial_status != "pending":
            return True
        self.refusal = f"Order #{self.number} is not paid yet; it cannot be completed."
        return False


# -- reading ------------------------------------------------------------------------------------
def lock_order(session: Session, store_id: int, order_id: int) -> Order:
    """The order, locked until the transaction ends, with its lines read afresh.

    Every change to an order starts here, so two changes to one order take turns.
    """
    order = session.scalar(
        select(Order).where(Order.id == order_id, Order.store_id == store_id)
        # ``of``: the customer is joined in eagerly, and only the order row is ours to lock.
        .with_for_update(of=Order).execution_options(populate_existing=True))
    if order is None:
        raise NotFound("No such order.")
    session.scalars(select(OrderLine).where(OrderLine.order_id == order.id,
                                            OrderLine.store_id == store_id)
                    .execution_options(populate_existing=True)).all()
    return order


def can(order: Order, trigger: str) -> bool:
    """Whether ``trigger`` would move the order now (without moving it)."""
    try:
        check_transition(order, trigger)
    except InvalidTransition:
        return False
    return True


def check_transition(order: Order, trigger: str) -> str:
    """The status ``trigger`` would move the order to; raises ``InvalidTransition`` if none."""
    if trigger not in machine.events:
        raise InvalidTransition(f"{trigger!r} is not something an order can do.")
    flow = _Flow(order)
    if trigger not in machine.get_triggers(flow.state):
        raise InvalidTransition(f"Order #{order.number} is {STATUS_WORDS[flow.state]}; "
                                f"it cannot be {DONE_WORDS[trigger]}.")
    if not machine.events[trigger].trigger(flow):
        raise InvalidTransition(flow.refusal)
    return flow.state


def order_history(session: Session, store_id: int, order_id: int) -> list[OrderStatusChange]:
    """Every status the order has had, oldest first."""
    if session.scalar(select(Order.id).where(Order.id == order_id,
                                             Order.store_id == store_id)) is None:
        raise NotFound("No such order.")
    return list(session.scalars(
        select(OrderStatusChange)
        .where(OrderStatusChange.store_id == store_id, OrderStatusChange.order_id == order_id)
        .order_by(OrderStatusChange.created_at, OrderStatusChange.id)))


# -- moving -------------------------------------------------------------------------------------
def transition(session: Session, store: Store, order: Order, trigger: str, actor: str,
               reason: str = "") -> Order:
    """Move a locked order by ``trigger``, with its history row and event; does not commit."""
    reason = check_reason(reason)
    to_status = check_transition(order, trigger)
    from_status = order.status
    order.status = to_status
    session.add(OrderStatusChange(store_id=store.id, order_id=order.id, from_status=from_status,
                                  to_status=to_status, actor=actor[:80], reason=reason))
    if trigger == "cancel" and from_status != "draft":  # a draft never took stock
        _restock_unfulfilled(session, store, order, actor)
    if EVENT_FOR_TRIGGER.get(trigger):
        events.record(session, store.id, EVENT_FOR_TRIGGER[trigger],
                      {"order_id": order.id, "number": order.number})
    session.flush()
    return order


def _restock_unfulfilled(session: Session, store: Store, order: Order, actor: str) -> None:
    """Units that never left the shop go back on its shelf; those sent out come back (if ever)
    through a refund with ``restock``."""
    location = inventory.default_location(session, store.id)
    for line in sorted(order.lines, key=lambda ln: ln.variant_id or 0):
        unsent = line.quantity - line.quantity_fulfilled
        if unsent > 0 and line.variant_id is not None:
            inventory.adjust_stock(session, store, line.variant_id, location.id, unsent,
                                   reason="cancelled", actor=actor,
                                   note=f"order #{order.number} cancelled", order_id=order.id)


def do_transition_order(session: Session, store: Store, order_id: int, trigger: str,
                        actor: str, reason: str = "") -> Order:
    """A merchant moves an order (``process``, ``cancel``, ``complete``); commits.

    Raises ``InvalidTransition`` (changing nothing) for a move the order cannot make now.
    """
    with committing(session):
        order = lock_order(session, store.id, order_id)
        if trigger in DEDICATED_ACTION:
            raise InvalidTransition(f"To move order #{order.number} on, "
                                    f"{DEDICATED_ACTION[trigger]}.")
        transition(session, store, order, trigger, actor, check_reason(reason))
    return order
