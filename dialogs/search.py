"""Search: type part of a name ("tomatos" finds Tomatoes), pick a result, buy it."""
from __future__ import annotations

from commerce.search import search_products
from dialogs.base import Choice, Conversation, Dialog, Goto, Reply, Turn
from dialogs.text import pick_from_list, with_note


class SearchDialog(Dialog):
    name = "search"
    states = ["ask", "results"]
    typed_states = frozenset({"ask"})
    initial = "ask"
    transitions = [
        {"trigger": "found", "source": "ask", "dest": "results"},
        {"trigger": "back", "source": "results", "dest": "ask"},
    ]

    def show_ask(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        return Reply(with_note(note, turn.t("Type what you are looking for:")))

    def on_ask(self, turn: Turn, conv: Conversation):
        query = turn.text.strip()
        if len(query) < 3:
            return self.reprompt(turn, conv, turn.t("Please type at least 3 letters."))
        if not search_products(turn.db, turn.store.id, query):
            return self.reprompt(turn, conv, turn.t("Nothing matches {query}.",
                                                    query=query[:20]))
        conv.context["query"] = query[:60]
        return "found"

    def show_results(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        products = search_products(turn.db, turn.store.id, conv.context["query"])
        return Reply(with_note(note, turn.t("Found:")),
                     tuple(Choice(f"p:{p.id}", p.name) for p in products))

    def on_results(self, turn: Turn, conv: Conversation):
        if not (turn.choice or "").startswith("p:"):
            return self.reprompt(turn, conv, pick_from_list(turn))
        # the query goes along: back from the product comes here, not to the whole store
        return Goto("browse", {"product_id": int(turn.choice[2:]),
                               "query": conv.context["query"]})
