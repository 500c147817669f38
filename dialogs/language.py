"""Change language: the store's offered languages, each named in itself; remembered."""
from __future__ import annotations

from commerce import customers
from dialogs.base import Choice, Conversation, Dialog, Goto, Reply, Turn
from dialogs.i18n import language_name
from dialogs.text import pick_from_list, with_note


class LanguageDialog(Dialog):
    name = "language"
    states = ["choose"]
    initial = "choose"

    def show_choose(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        return Reply(with_note(note, turn.t("Choose your language:")),
                     tuple(Choice(f"l:{code}", language_name(code))
                           for code in turn.store.locale_list))

    def on_choose(self, turn: Turn, conv: Conversation):
        code = (turn.choice or "").removeprefix("l:")
        if code not in turn.store.locale_list:
            return self.reprompt(turn, conv, pick_from_list(turn))
        customers.do_update_customer(turn.db, turn.store, turn.customer.id, locale=code)
        return Goto("home")
