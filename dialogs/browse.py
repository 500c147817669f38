"""Browsing: products (of a category) → size → quantity → into the cart."""
from __future__ import annotations

from commerce import carts, inventory
from commerce.db import for_transaction, remember_for_transaction
from commerce.errors import DomainError, InvalidQuantity, OutOfStock
from dialogs.base import Choice, Conversation, Dialog, Goto, Reply, Turn
from dialogs.checkout import after_adding
from dialogs.text import pick_from_list, price, with_note


class BrowseDialog(Dialog):
    """Context: ``category_id`` (optional) to list; ``product_id`` to start on a product."""

    name = "browse"
    states = ["products", "sizes", "quantity"]
    initial = "products"
    transitions = [
        {"trigger": "pick_product", "source": "products", "dest": "sizes"},
        {"trigger": "pick_size", "source": ["products", "sizes"], "dest": "quantity"},
        {"trigger": "back", "source": "sizes", "dest": "products"},
        {"trigger": "back", "source": "quantity", "dest": "products"},
        {"trigger": "back_to_sizes", "source": "quantity", "dest": "sizes"},
    ]

    def enter(self, turn: Turn, context: dict, state: str | None = None):
        if "product_id" not in context or state is not None:
            return super().enter(turn, context, state)
        conv = Conversation("products", dict(context))  # e.g. picked from search results
        outcome = self._choose_product(turn, conv, context["product_id"])
        if isinstance(outcome, str):
            self.move(conv, outcome)
            outcome = self.show(turn, conv)
        return outcome, conv

    def back_trigger(self, conv: Conversation) -> str | None:
        if conv.state == "quantity" and conv.context.get("came_from_sizes"):
            return "back_to_sizes"
        return super().back_trigger(conv)

    def _back_to_search(self, conv: Conversation, note: str) -> Goto:
        """A product picked from search results: its list is those results."""
        return Goto("search", {"query": conv.context["query"], "note": note}, state="results")

    def _products(self, turn: Turn, conv: Conversation):
        if conv.context.get("category_id"):
            return turn.storefront().products_in_category(conv.context["category_id"])
        return list(turn.storefront().products)

    # -- products ---------------------------------------------------------------------------------
    def show_products(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        if conv.context.get("query"):  # back (or refused) from a product found by search
            return self._back_to_search(conv, note)
        try:
            products = self._products(turn, conv)
        except DomainError:
            return Goto("home")
        stock = inventory.available_quantities(
            turn.db, turn.store.id, [v.id for p in products for v in p.on_sale_variants])
        choices = []
        for product in products:
            variants = product.on_sale_variants
            if all(stock[v.id] == 0 for v in variants):
                label = turn.t("{name} (sold out)", name=product.name)
            else:
                # from what can be bought now: a sold-out size's lower price is not on offer
                cheapest = price(turn.store.money(
                    min(v.price for v in variants if stock[v.id] > 0)), turn)
                label = (turn.t("{name} from {price}", name=product.name, price=cheapest)
                         if len(variants) > 1 else f"{product.name} {cheapest}")
            choices.append(Choice(f"p:{product.id}", label))
        if not choices:
            return Reply(with_note(note, turn.t("Nothing here yet.")))
        return Reply(with_note(note, turn.t("Choose a product:")), tuple(choices))

    def on_products(self, turn: Turn, conv: Conversation):
        if not (turn.choice or "").startswith("p:"):
            return self.reprompt(turn, conv, pick_from_list(turn))
        return self._choose_product(turn, conv, int(turn.choice[2:]))

    def _choose_product(self, turn: Turn, conv: Conversation, product_id: int):
        try:
            product = turn.storefront().product(product_id)
        except DomainError as error:
            return self.reprompt(turn, conv, turn.t_error(error))
        variants = product.on_sale_variants
        stock = inventory.available_quantities(turn.db, turn.store.id, [v.id for v in variants])
        if not any(stock.values()):
            return self.reprompt(turn, conv, turn.t("Sorry, {name} is sold out.",
                                                    name=product.name))
        for v in variants:  # the next screen (this hop) needs it again: read once
            remember_for_transaction(turn.db, ("stock", turn.store.id, v.id), stock[v.id])
        conv.context["product_id"] = product.id
        if len(variants) > 1:
            return "pick_product"
        conv.context["variant_id"] = variants[0].id
        conv.context["came_from_sizes"] = False
        return "pick_size"

    # -- sizes ------------------------------------------------------------------------------------
    def _gone(self, turn: Turn, conv: Conversation, error: DomainError) -> Goto:
        """The merchant took it off sale while the shopper looked: back to the list."""
        return Goto("browse", {"category_id": conv.context.get("category_id"),
                               "query": conv.context.get("query"),
                               "note": turn.t_error(error)})

    def show_sizes(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        try:
            product = turn.storefront().product(conv.context["product_id"])
        except DomainError as error:
            return self._gone(turn, conv, error)
        variants = product.on_sale_variants
        stock = inventory.available_quantities(turn.db, turn.store.id, [v.id for v in variants])
        sold_out = " " + turn.t("(sold out)")
        choices = tuple(
            Choice(f"v:{v.id}", f"{v.name} {price(turn.store.money(v.price), turn)}"
                   + (sold_out if stock[v.id] == 0 else ""))
            for v in variants
        )
        return Reply(with_note(note, turn.t("{name}: choose a size", name=product.name)),
                     choices, image=turn.image_of(product.id))

    def on_sizes(self, turn: Turn, conv: Conversation):
        if not (turn.choice or "").startswith("v:"):
            return self.reprompt(turn, conv, pick_from_list(turn))
        try:
            variant = turn.storefront().variant(int(turn.choice[2:]))
        except DomainError as error:
            return self.reprompt(turn, conv, turn.t_error(error))
        if variant.product_id != conv.context.get("product_id"):
            return self.reprompt(turn, conv, pick_from_list(turn))
        if inventory.available_quantity(turn.db, turn.store.id, variant.id) == 0:
            return self.reprompt(turn, conv, turn.t("Sorry, {name} is sold out.",
                                                    name=variant.title))
        conv.context["variant_id"] = variant.id
        conv.context["came_from_sizes"] = True
        return "pick_size"

    # -- quantity ---------------------------------------------------------------------------------
    def _variant(self, turn: Turn, variant_id: int):
        return turn.storefront().variant(variant_id)

    def _in_cart(self, turn: Turn, variant_id: int) -> int:
        return sum(line.quantity for line in turn.cart().lines if line.variant_id == variant_id)

    def _none_left(self, turn: Turn, conv: Conversation, variant):
        """No "How many? (1-0)": back to the sizes or the list, saying why."""
        self.move(conv, self.back_trigger(conv))
        in_cart = self._in_cart(turn, variant.id)
        if in_cart:  # what is left is in their own cart already
            return self.reprompt(turn, conv, turn.t(
                "You already have all {count} {name} in your cart.", count=in_cart,
                name=variant.title))
        return self.reprompt(turn, conv, turn.t("Sorry, {name} is sold out.",
                                                name=variant.title))

    def _max_quantity(self, turn: Turn, variant_id: int) -> int:
        in_cart = self._in_cart(turn, variant_id)
        if in_cart:  # what the line may come to (its checkout's holds are its own), less it
            return max(0, carts.most_for_line(turn.db, turn.store.id, turn.cart().cart_id,
                                              variant_id) - in_cart)
        available = for_transaction(
            turn.db, ("stock", turn.store.id, variant_id),
            lambda: inventory.available_quantity(turn.db, turn.store.id, variant_id))
        return min(available, carts.MAX_LINE_QUANTITY)

    def show_quantity(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        try:
            variant = self._variant(turn, conv.context["variant_id"])
        except DomainError as error:
            return self._gone(turn, conv, error)
        most = self._max_quantity(turn, variant.id)
        if most == 0:
            return self._none_left(turn, conv, variant)
        each = price(turn.store.money(variant.price), turn)
        return Reply(with_note(note, turn.t("{name} {price} each.\nHow many? (1-{most})",
                                            name=variant.title, price=each, most=most)),
                     image=turn.image_of(variant.product_id))

    def on_quantity(self, turn: Turn, conv: Conversation):
        variant_id = conv.context["variant_id"]
        try:
            self._variant(turn, variant_id)
        except DomainError as error:
            return self._gone(turn, conv, error)
        text = turn.text.strip()
        if text.isdecimal() and 1 <= int(text) <= carts.MAX_LINE_QUANTITY:
            # The service checks the stock (and the cart) itself: what is left to say how many
            # can be had is read only when it says no.
            try:
                turn.cart_changed(carts.do_add_to_cart(turn.db, turn.store, turn.customer.id,
                                                       variant_id, int(text), turn.step))
                return after_adding(turn)
            except (OutOfStock, InvalidQuantity):
                pass
            except DomainError as error:
                return self.reprompt(turn, conv, turn.t_error(error))
        most = self._max_quantity(turn, variant_id)
        if most == 0:  # taken meanwhile, or all of it is in the cart
            return self._none_left(turn, conv, self._variant(turn, variant_id))
        return self.reprompt(turn, conv, turn.t("Please enter a number from 1 to {most}.",
                                                most=most))
