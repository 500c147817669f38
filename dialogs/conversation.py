"""Runs a whole conversation across dialogs: the one object a channel talks to.

``start(turn)`` and ``handle(turn, saved)`` return ``(Reply, state)``, where ``state`` is the
small JSON-able dict the channel keeps in its session store between turns.
"""
from __future__ import annotations

from dialogs.base import HOME, Conversation, Dialog, Goto, Reply, Turn

MAX_HANDOFFS = 5  # a dialog that hands straight on (e.g. nothing to choose) may chain this far


class ConversationRunner:
    def __init__(self, dialogs: list[Dialog], home: str = "home"):
        self.dialogs = {dialog.name: dialog for dialog in dialogs}
        self.home = home

    def start(self, turn: Turn) -> tuple[Reply, dict]:
        return self._enter(turn, Goto(self.home))

    def go(self, turn: Turn, goto: Goto) -> tuple[Reply, dict]:
        """Enter a dialog directly, as a text command does (``SEARCH tomatoes``)."""
        return self._enter(turn, goto)

    def awaits_text(self, saved: dict) -> bool:
        """Whether the screen of ``saved`` asks the shopper to type something (an address, a
        code, a search): there a message like "Stop 5, Moi Avenue" is the answer, not a
        command."""
        dialog = self.dialogs.get(saved.get("dialog", ""))
        return dialog is not None and saved.get("state") in dialog.typed_states

    def handle(self, turn: Turn, saved: dict) -> tuple[Reply, dict]:
        dialog = self.dialogs.get(saved.get("dialog", ""))
        if turn.choice == HOME or dialog is None or saved.get("state") not in dialog.states:
            return self._enter(turn, Goto(self.home))  # home, or a session from an old release
        conv = Conversation(saved["state"], dict(saved.get("context", {})))
        outcome = dialog.react(turn, conv)
        if isinstance(outcome, Goto):
            return self._enter(turn, outcome)
        return outcome, self._dump(dialog, conv)

    def _enter(self, turn: Turn, goto: Goto) -> tuple[Reply, dict]:
        for _ in range(MAX_HANDOFFS):
            dialog = self.dialogs[goto.dialog]
            outcome, conv = dialog.enter(turn, goto.context, goto.state)
            if not isinstance(outcome, Goto):
                return outcome, self._dump(dialog, conv)
            goto = outcome
        raise RuntimeError(f"dialogs handed on more than {MAX_HANDOFFS} times: {goto}")

    @staticmethod
    def _dump(dialog: Dialog, conv: Conversation) -> dict:
        return {"dialog": dialog.name, "state": conv.state, "context": conv.context}
