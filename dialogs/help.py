"""Help: how to reach the store, and how to move around the menus."""
from __future__ import annotations

from dialogs.base import Conversation, Dialog, Reply, Turn
from dialogs.text import with_note


class HelpDialog(Dialog):
    name = "help"
    states = ["info"]
    initial = "info"

    def show_info(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        rows = [turn.store.name]
        if turn.store.contact_phone:
            rows.append(turn.t("Call us: {phone}", phone=turn.store.contact_phone))
        rows.append(turn.t("0 back, 00 home, 98 more"))
        return Reply(with_note(note, "\n".join(rows)))

    def on_info(self, turn: Turn, conv: Conversation):
        return self.reprompt(turn, conv, turn.t("Reply 0 to go back or 00 for home."))
