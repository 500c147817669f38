"""The shopping journey: home → products → size → quantity → cart → confirm → placed."""
from __future__ import annotations

from commerce import carts, catalog, checkout, inventory, orders
from commerce.errors import DomainError
from commerce.money import Money
from dialogs.base import Choice, Conversation, Dialog, Reply, Turn

PICK_FROM_LIST = "Please reply with a number from the list."
CART_LINES_SHOWN = 4


def price(money: Money, turn: Turn) -> str:
    """``KSh 120`` rather than ``KSh 120.00``: every character counts on a USSD screen."""
    return money.format_short(f"{turn.locale}_{turn.store.country}")


def with_note(note: str, text: str) -> str:
    return f"{note}\n{text}" if note else text


class ShopDialog(Dialog):
    states = ["home", "products", "sizes", "quantity", "cart", "confirm", "placed"]
    initial = "home"
    transitions = [
        {"trigger": "browse", "source": ["home", "cart"], "dest": "products"},
        {"trigger": "view_cart", "source": "home", "dest": "cart"},
        {"trigger": "pick_product", "source": "products", "dest": "sizes"},
        {"trigger": "pick_size", "source": ["products", "sizes"], "dest": "quantity"},
        {"trigger": "added", "source": "quantity", "dest": "cart"},
        {"trigger": "checkout", "source": "cart", "dest": "confirm"},
        {"trigger": "place", "source": "confirm", "dest": "placed"},
        {"trigger": "stock_changed", "source": "confirm", "dest": "cart"},
        {"trigger": "back", "source": ["products", "cart"], "dest": "home"},
        {"trigger": "back", "source": "sizes", "dest": "products"},
        {"trigger": "back", "source": "quantity", "dest": "products"},
        {"trigger": "back_to_sizes", "source": "quantity", "dest": "sizes"},
        {"trigger": "back", "source": "confirm", "dest": "cart"},
    ]

    # -- home ---------------------------------------------------------------------------------
    def show_home(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        count = carts.view_cart(turn.db, turn.store, turn.customer.id).item_count
        cart_label = f"My cart ({count})" if count else "My cart"
        return Reply(with_note(note, f"Karibu {turn.store.name}!"),
                     (Choice("shop", "Shop"), Choice("cart", cart_label)), can_go_back=False)

    def on_home(self, turn: Turn, conv: Conversation):
        return {"shop": "browse", "cart": "view_cart"}.get(turn.choice) or \
            self.reprompt(turn, conv, PICK_FROM_LIST)

    # -- products -----------------------------------------------------------------------------
    def show_products(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        choices = []
        products = catalog.list_products(turn.db, turn.store.id)
        stock = inventory.available_quantities(
            turn.db, turn.store.id, [v.id for p in products for v in p.on_sale_variants])
        for product in products:
            variants = product.on_sale_variants
            if all(stock[v.id] == 0 for v in variants):
                label = f"{product.name} (sold out)"
            else:
                cheapest = price(turn.store.money(min(v.price for v in variants)), turn)
                label = f"{product.name} {'from ' if len(variants) > 1 else ''}{cheapest}"
            choices.append(Choice(f"p:{product.id}", label))
        return Reply(with_note(note, "Choose a product:"), tuple(choices))

    def on_products(self, turn: Turn, conv: Conversation):
        if not (turn.choice or "").startswith("p:"):
            return self.reprompt(turn, conv, PICK_FROM_LIST)
        try:
            product = catalog.get_product(turn.db, turn.store.id, int(turn.choice[2:]))
        except DomainError as error:
            return self.reprompt(turn, conv, error.message)
        stock = inventory.available_quantities(turn.db, turn.store.id,
                                               [v.id for v in product.on_sale_variants])
        if not any(stock.values()):
            return self.reprompt(turn, conv, f"Sorry, {product.name} is sold out.")
        conv.context["product_id"] = product.id
        if len(product.on_sale_variants) > 1:
            return "pick_product"
        conv.context["variant_id"] = product.on_sale_variants[0].id
        conv.context["came_from_sizes"] = False
        return "pick_size"

    # -- sizes --------------------------------------------------------------------------------
    def show_sizes(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        product = catalog.get_product(turn.db, turn.store.id, conv.context["product_id"])
        stock = inventory.available_quantities(turn.db, turn.store.id,
                                               [v.id for v in product.on_sale_variants])
        choices = tuple(
            Choice(f"v:{v.id}", f"{v.name} {price(turn.store.money(v.price), turn)}"
                   + (" (sold out)" if stock[v.id] == 0 else ""))
            for v in product.on_sale_variants
        )
        return Reply(with_note(note, f"{product.name}: choose a size"), choices)

    def on_sizes(self, turn: Turn, conv: Conversation):
        if not (turn.choice or "").startswith("v:"):
            return self.reprompt(turn, conv, PICK_FROM_LIST)
        try:
            variant = catalog.get_variant(turn.db, turn.store.id, int(turn.choice[2:]))
        except DomainError as error:
            return self.reprompt(turn, conv, error.message)
        if variant.product_id != conv.context.get("product_id"):
            return self.reprompt(turn, conv, PICK_FROM_LIST)
        if inventory.available_quantity(turn.db, turn.store.id, variant.id) == 0:
            return self.reprompt(turn, conv, f"Sorry, {variant.title} is sold out.")
        conv.context["variant_id"] = variant.id
        conv.context["came_from_sizes"] = True
        return "pick_size"

    # -- quantity -----------------------------------------------------------------------------
    def _max_quantity(self, turn: Turn, variant_id: int) -> int:
        available = inventory.available_quantity(turn.db, turn.store.id, variant_id)
        in_cart = sum(line.quantity for line in carts.view_cart(
            turn.db, turn.store, turn.customer.id).lines if line.variant_id == variant_id)
        return max(0, min(available, carts.MAX_LINE_QUANTITY) - in_cart)

    def show_quantity(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        variant = catalog.get_variant(turn.db, turn.store.id, conv.context["variant_id"])
        most = self._max_quantity(turn, variant.id)
        each = price(turn.store.money(variant.price), turn)
        return Reply(with_note(note, f"{variant.title} {each} each.\nHow many? (1-{most})"))

    def on_quantity(self, turn: Turn, conv: Conversation):
        variant_id = conv.context["variant_id"]
        most = self._max_quantity(turn, variant_id)
        text = turn.text.strip()
        if not text.isdecimal() or not 1 <= int(text) <= most:
            return self.reprompt(turn, conv, f"Please enter a number from 1 to {most}.")
        try:
            carts.do_add_to_cart(turn.db, turn.store, turn.customer.id, variant_id, int(text))
        except DomainError as error:
            return self.reprompt(turn, conv, error.message)
        return "added"

    def back_trigger(self, conv: Conversation) -> str | None:
        if conv.state == "quantity" and conv.context.get("came_from_sizes"):
            return "back_to_sizes"
        return super().back_trigger(conv)

    # -- cart ---------------------------------------------------------------------------------
    def show_cart(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        cart = carts.view_cart(turn.db, turn.store, turn.customer.id)
        if not cart.lines:
            return Reply(with_note(note, "Your cart is empty."), (Choice("shop", "Shop"),))
        rows = [f"{ln.quantity}x {ln.title} {price(ln.total, turn)}"
                for ln in cart.lines[:CART_LINES_SHOWN]]
        if len(cart.lines) > CART_LINES_SHOWN:
            rows.append(f"+{len(cart.lines) - CART_LINES_SHOWN} more")
        rows.append(f"Total {price(cart.total, turn)}")
        return Reply(with_note(note, "\n".join(rows)),
                     (Choice("checkout", "Checkout"), Choice("shop", "Add more")))

    def on_cart(self, turn: Turn, conv: Conversation):
        cart = carts.view_cart(turn.db, turn.store, turn.customer.id)
        if turn.choice == "shop":
            return "browse"
        if turn.choice == "checkout" and cart.lines:
            try:  # holds the stock while the shopper confirms
                checkout.do_start_checkout(turn.db, turn.store, turn.customer.id)
            except DomainError as error:
                return self.reprompt(turn, conv, error.message)
            conv.context["cart_id"] = cart.cart_id
            return "checkout"
        return self.reprompt(turn, conv, PICK_FROM_LIST)

    # -- confirm ------------------------------------------------------------------------------
    def show_confirm(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        cart = carts.get_active_cart(turn.db, turn.store.id, turn.customer.id)
        totals = checkout.compute_totals(turn.db, turn.store, cart)
        items = carts.view_lines(turn.store, cart).item_count
        return Reply(
            with_note(note, f"Total {price(totals.total, turn)}, {items} item(s).\n"
                            "Pay cash on delivery."),
            (Choice("place", "Confirm order"),),
        )

    def on_confirm(self, turn: Turn, conv: Conversation):
        if turn.choice != "place":
            return self.reprompt(turn, conv, PICK_FROM_LIST)
        try:
            order = checkout.do_place_order(turn.db, turn.store, turn.customer.id,
                                          cart_id=conv.context.get("cart_id"),
                                          payment_method="cod")
        except DomainError as error:
            conv.context["note"] = error.message
            return "stock_changed"
        conv.context["order_id"] = order.id
        return "place"

    # -- placed -------------------------------------------------------------------------------
    def show_placed(self, turn: Turn, conv: Conversation, note: str) -> Reply:
        order = orders.get_order(turn.db, turn.store.id, conv.context["order_id"])
        return Reply(
            f"Asante! Order #{order.number} is placed. Pay {price(order.total_money, turn)} "
            "cash on delivery. We will SMS you a receipt.",
            ends=True,
        )

    def on_placed(self, turn: Turn, conv: Conversation):  # the session has ended
        return self._show(turn, conv)
