"""The dialog engine: turns, replies, and state machines built once per dialog class.

A conversation moves between dialogs (home, browse, cart, checkout, ...). Each dialog is a
``transitions`` machine built once for its class; a session keeps only which dialog it is in,
the state name and a small JSON-able context.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy.orm import Session
from transitions import Machine

from commerce import carts
from commerce.carts import CartView, Step
from commerce.db import for_transaction, remember_for_transaction
from commerce.errors import DomainError
from commerce.models import Customer, Store
from commerce.money import Money
from commerce.storefront import Storefront, storefront
from dialogs.i18n import translate

# Navigation every channel offers; a channel maps its own keys (USSD: 0 and 00) onto these.
BACK = "nav:back"
HOME = "nav:home"


@dataclass(frozen=True)
class Choice:
    id: str  # stable: what the dialog gets back, whatever number or button showed it
    label: str


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    ends: bool = False
    can_go_back: bool = True
    image: str = ""  # a picture of what the screen is about; channels that can show one do

    def to_dict(self) -> dict:
        data = {"text": self.text, "choices": [[c.id, c.label] for c in self.choices],
                "ends": self.ends, "can_go_back": self.can_go_back}
        if self.image:
            data["image"] = self.image
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Reply:
        return cls(data["text"], tuple(Choice(i, label) for i, label in data["choices"]),
                   data["ends"], data.get("can_go_back", True), data.get("image", ""))


def shopper_locale(store: Store, wanted: str | None) -> str:
    """The language to speak: the shopper's choice if the store offers it, else the store's."""
    return wanted if wanted in store.locale_list else store.default_locale


@dataclass
class Turn:
    """One thing the shopper did: picked a choice, navigated, or typed text."""

    db: Session
    store: Store
    customer: Customer
    choice: str | None = None  # a Choice.id, BACK or HOME
    text: str = ""  # free text when no choice matched
    images: bool = False  # the channel can show a product's picture (WhatsApp)
    # Where this turn is in the channel's conversation, if the channel may deliver it twice
    # (USSD): a cart change made at a step is made once (``commerce.carts.Step``).
    step: Step | None = None

    def cart(self) -> CartView:
        """The shopper's cart, read at most once per database transaction (a service that
        changes it commits, so the next call reads it again)."""
        return for_transaction(self.db, ("cart", self.store.id, self.customer.id),
                               lambda: carts.view_cart(self.db, self.store, self.customer.id))

    def storefront(self) -> Storefront:
        """What the store shows: categories, products on sale, delivery options (kept in
        process until the merchant changes them; see ``commerce.storefront``)."""
        return for_transaction(self.db, ("storefront", self.store.id),
                               lambda: storefront(self.db, self.store.id))

    def cart_changed(self, view: CartView) -> None:
        """``view`` is the cart as a service has just committed it."""
        remember_for_transaction(self.db, ("cart", self.store.id, self.customer.id), view)

    def image_of(self, product_id: int) -> str:
        """The product's first picture when the channel shows pictures (else no query)."""
        if not self.images:
            return ""
        from commerce.catalog import first_image_url

        return first_image_url(self.db, self.store.id, product_id) or ""

    @property
    def locale(self) -> str:
        return shopper_locale(self.store, self.customer.locale)

    @property
    def money_locale(self) -> str:
        """How money is written for this shopper: their language, the store's country."""
        return f"{self.locale}_{self.store.country}"

    def t(self, message: str, **values) -> str:
        """``message`` in the shopper's language, with ``{placeholders}`` filled in."""
        return translate(self.locale, message).format(**values)

    def t_error(self, error: DomainError) -> str:
        """What the commerce core refused, in the shopper's language (``DomainError.template``
        translated, then filled in with its values)."""
        template = translate(self.locale, error.template)
        if not error.values:
            return template
        return template.format(**{
            name: format(value, self.money_locale) if isinstance(value, Money) else value
            for name, value in error.values.items()})


@dataclass
class Conversation:
    """The model a dialog's state machine moves: a state name and a small JSON-able context."""

    state: str
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Goto:
    """Hand the conversation to another dialog (by its ``name``), with a starting context."""

    dialog: str
    context: dict = field(default_factory=dict)
    state: str | None = None


class Dialog:
    """Subclasses declare ``name``, ``states``, ``initial`` and ``transitions``.

    ``show_<state>(turn, conv, note)`` renders a screen. ``on_<state>(turn, conv)`` handles the
    input given on it and returns a trigger to fire, a ``Goto``, or a ``Reply`` to show as is.
    """

    name: ClassVar[str]
    states: ClassVar[list[str]]
    initial: ClassVar[str]
    transitions: ClassVar[list[dict]] = []
    parent: ClassVar[str] = "home"  # where BACK leads from the first screen
    typed_states: ClassVar[frozenset[str]] = frozenset()  # screens that ask for typed text
    _machine: ClassVar[Machine]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._machine = Machine(model=None, states=cls.states, transitions=cls.transitions,
                               initial=cls.initial, auto_transitions=False)

    def enter(self, turn: Turn, context: dict, state: str | None = None):
        """Start this dialog; returns a Reply, or a Goto when there is nothing to show here."""
        conv = Conversation(state or self.initial, dict(context))
        return self.show(turn, conv), conv

    def react(self, turn: Turn, conv: Conversation):
        """Apply one turn; returns ``Reply`` (conv moved in place) or ``Goto``."""
        if turn.choice == BACK:
            trigger = self.back_trigger(conv)
            if trigger is None:
                return Goto(self.parent)
            outcome = trigger
        else:
            outcome = getattr(self, f"on_{conv.state}")(turn, conv)
        if isinstance(outcome, (Reply, Goto)):
            return outcome
        self.move(conv, outcome)
        return self.show(turn, conv)

    def move(self, conv: Conversation, trigger: str) -> None:
        """Move ``conv`` along this dialog's state machine by ``trigger``."""
        self._machine.events[trigger].trigger(conv)

    def back_trigger(self, conv: Conversation) -> str | None:
        return "back" if "back" in self._machine.get_triggers(conv.state) else None

    def show(self, turn: Turn, conv: Conversation):
        # A note (why the shopper landed here: "Sorry, sold out") is shown once, then dropped.
        note = conv.context.pop("note", "")
        return getattr(self, f"show_{conv.state}")(turn, conv, note)

    def reprompt(self, turn: Turn, conv: Conversation, note: str):
        conv.context["note"] = note
        return self.show(turn, conv)
