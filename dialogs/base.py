"""The dialog engine: turns, replies, and state machines built once per dialog class."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy.orm import Session
from transitions import Machine

from commerce.models import Customer, Store

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

    def to_dict(self) -> dict:
        return {"text": self.text, "choices": [[c.id, c.label] for c in self.choices],
                "ends": self.ends, "can_go_back": self.can_go_back}

    @classmethod
    def from_dict(cls, data: dict) -> Reply:
        return cls(data["text"], tuple(Choice(i, label) for i, label in data["choices"]),
                   data["ends"], data.get("can_go_back", True))


@dataclass
class Turn:
    """One thing the shopper did: picked a choice, navigated, or typed text."""

    db: Session
    store: Store
    customer: Customer
    choice: str | None = None  # a Choice.id, BACK or HOME
    text: str = ""  # free text when no choice matched
    locale: str = "en"


@dataclass
class Conversation:
    """The model the state machine moves: a state name plus a small JSON-able context."""

    state: str
    context: dict = field(default_factory=dict)


class Dialog:
    """Subclasses declare ``states``, ``initial`` and ``transitions``; the machine is built once.

    ``show_<state>(turn, conv)`` renders a screen; ``on_<state>(turn, conv)`` handles input given
    on it and returns the trigger to fire (or a Reply to show directly, e.g. a re-prompt).
    """

    states: ClassVar[list[str]]
    initial: ClassVar[str]
    transitions: ClassVar[list[dict]]
    _machine: ClassVar[Machine]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._machine = Machine(
            model=None, states=cls.states, transitions=cls.transitions, initial=cls.initial,
            auto_transitions=False,
        )

    def start(self, turn: Turn) -> tuple[Reply, dict]:
        conv = Conversation(self.initial)
        return self._show(turn, conv), self._dump(conv)

    def handle(self, turn: Turn, saved: dict) -> tuple[Reply, dict]:
        conv = Conversation(saved.get("state", self.initial), dict(saved.get("context", {})))
        if conv.state not in self.states:  # a session from an older release
            conv = Conversation(self.initial)
        if turn.choice == HOME:
            conv = Conversation(self.initial)
            return self._show(turn, conv), self._dump(conv)
        if turn.choice == BACK:
            outcome = self.back_trigger(conv)
            if outcome is None:  # nowhere to go back to: show the same screen again
                return self._show(turn, conv), self._dump(conv)
        else:
            outcome = getattr(self, f"on_{conv.state}")(turn, conv)
        if isinstance(outcome, Reply):
            return outcome, self._dump(conv)
        self.fire(outcome, conv)
        return self._show(turn, conv), self._dump(conv)

    def back_trigger(self, conv: Conversation) -> str | None:
        return "back" if self.can("back", conv) else None

    def fire(self, trigger: str, conv: Conversation) -> None:
        self._machine.events[trigger].trigger(conv)

    def can(self, trigger: str, conv: Conversation) -> bool:
        return trigger in self._machine.get_triggers(conv.state)

    def _show(self, turn: Turn, conv: Conversation) -> Reply:
        # A note (why the shopper landed here: "Sorry, sold out") is shown once, then dropped.
        note = conv.context.pop("note", "")
        return getattr(self, f"show_{conv.state}")(turn, conv, note)

    def reprompt(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        conv.context["note"] = note
        return self._show(turn, conv)

    @staticmethod
    def _dump(conv: Conversation) -> dict:
        return {"state": conv.state, "context": conv.context}
