"""Home: the store's categories first (one hop to shopping), then search, cart, orders, more."""
from __future__ import annotations

from dialogs.base import Choice, Conversation, Dialog, Goto, Reply, Turn
from dialogs.text import pick_from_list, with_note


class HomeDialog(Dialog):
    name = "home"
    states = ["menu"]
    initial = "menu"

    def show_menu(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        t = turn.t
        categories = [Choice(f"c:{node['id']}", node["name"])
                      for node in turn.storefront().category_tree()]
        if not categories:
            categories = [Choice("all", t("Shop"))]
        count = turn.cart().item_count
        return Reply(
            with_note(note, t("Karibu {store}!", store=turn.store.name)),
            (*categories,
             Choice("search", t("Search")),
             Choice("cart", t("My cart ({count})", count=count) if count else t("My cart")),
             Choice("orders", t("My orders")),
             Choice("language", t("Language")),
             Choice("help", t("Help"))),
            can_go_back=False,
        )

    def on_menu(self, turn: Turn, conv: Conversation):
        choice = turn.choice or ""
        if choice.startswith("c:"):
            return Goto("browse", {"category_id": int(choice[2:])})
        if choice == "all":
            return Goto("browse", {})
        if choice in ("search", "cart", "orders", "language", "help"):
            return Goto(choice)
        return self.reprompt(turn, conv, pick_from_list(turn))
