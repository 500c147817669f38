"""Small readers shared by tests."""
from sqlalchemy import func, select

from commerce.models import Stock, Variant


def variant_by_sku(db, store, sku) -> Variant:
    return db.scalar(select(Variant).where(Variant.store_id == store.id, Variant.sku == sku))


def on_hand(db, sku: str) -> int:
    """Units of a SKU on hand across all locations, read fresh from the database."""
    db.expire_all()
    return db.scalar(select(func.sum(Stock.quantity)).join(Variant, Variant.id == Stock.variant_id)
                     .where(Variant.sku == sku))


def place_order(db, store, payment_method="mpesa", how=None, phone="+254712345678"):
    """Tomatoes 1kg x2 and onions 1kg x1 (KSh 340), through cart and checkout.

    ``how``: None (no delivery choice), "delivery" (Nairobi West, KSh 100) or "pickup".
    """
    from commerce import carts, checkout, shipping
    from commerce.customers import get_or_create_customer

    customer = get_or_create_customer(db, store, phone)
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "TOMA-1KG").id, 2)
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "ONIO-1KG").id, 1)
    if how == "pickup":
        point = shipping.list_pickup_points(db, store.id)[0]
        checkout.do_choose_pickup(db, store, customer.id, point.id)
    elif how == "delivery":
        zone = shipping.list_zones(db, store.id)[0]
        checkout.do_choose_delivery(db, store, customer.id, zone.id, "Kawangware stage 56")
    return checkout.do_place_order(db, store, customer.id, payment_method=payment_method)


def fresh(db, order_id):
    """The order as the database has it now."""
    from commerce.models import Order

    db.expire_all()
    return db.get(Order, order_id)


def events_named(db, name) -> list[dict]:
    """Payloads of the outbox events of one name, oldest first."""
    from commerce.models import OutboxEvent

    return [e.payload for e in db.scalars(select(OutboxEvent).where(OutboxEvent.name == name)
                                          .order_by(OutboxEvent.id))]
