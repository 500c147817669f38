"""The demo store, "Mama Mboga Fresh": a Nairobi greengrocer selling in KES."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.models import (
    Category, ChannelAddress, DiscountCode, Location, PickupPoint, Product, ShippingRate,
    ShippingZone, Stock, Store, Variant,
)

DEMO_SLUG = "mama-mboga"
DEMO_USSD_CODE = "*384*123#"
DEMO_SMS_SHORT_CODE, DEMO_SMS_KEYWORD = "22384", "MBOGA"

# category -> [(product, [(size, price in KES cents, stock)])]; "" = the product has one size.
CATALOG: dict[str, list[tuple[str, list[tuple[str, int, int]]]]] = {
    "Vegetables": [
        ("Sukuma wiki", [("bunch", 3000, 120)]),
        ("Tomatoes", [("1kg", 12000, 80), ("500g", 6500, 60)]),
        ("Onions", [("1kg", 10000, 70)]),
        ("Cabbage", [("", 6000, 40)]),
        ("Spinach", [("bunch", 4000, 50)]),
        ("Carrots", [("1kg", 9000, 35)]),
        ("Irish potatoes", [("2kg", 18000, 45), ("5kg", 42000, 12)]),
        ("Managu", [("bunch", 5000, 3)]),  # low stock
    ],
    "Fruits": [
        ("Bananas", [("bunch", 15000, 25)]),
        ("Mangoes", [("", 5000, 60)]),
        ("Avocados", [("", 3000, 90)]),
        ("Oranges", [("1kg", 16000, 30)]),
        ("Pineapple", [("", 12000, 0)]),  # out of stock
        ("Watermelon", [("", 25000, 8)]),
        ("Passion fruit", [("250g", 8000, 20)]),
    ],
    "Grains & Flour": [
        ("Maize flour", [("1kg", 7000, 100), ("2kg", 13500, 60)]),
        ("Rice", [("1kg", 18000, 50), ("2kg", 34000, 30)]),
        ("Beans", [("1kg", 16000, 40)]),
        ("Green grams", [("1kg", 20000, 25)]),
        ("Wheat flour", [("2kg", 19000, 35)]),
        ("Sugar", [("1kg", 17000, 4)]),  # low stock
    ],
    "Dairy & Eggs": [
        ("Fresh milk", [("500ml", 6000, 70), ("1L", 11500, 40)]),
        ("Mala", [("500ml", 7000, 25)]),
        ("Eggs", [("tray of 30", 45000, 15), ("half dozen", 9500, 30)]),
        ("Butter", [("250g", 28000, 10)]),
        ("Yoghurt", [("500ml", 12000, 0)]),  # out of stock
    ],
    "Household": [
        ("Cooking oil", [("1L", 32000, 30), ("3L", 92000, 10)]),
        ("Bar soap", [("", 15000, 40)]),
        ("Salt", [("500g", 3000, 60)]),
        ("Tea leaves", [("250g", 15000, 20)]),
        ("Matches", [("pack of 10", 5000, 50)]),
    ],
}


def demo_store(session: Session) -> Store | None:
    return session.scalar(select(Store).where(Store.slug == DEMO_SLUG))


def link_demo_whatsapp(session: Session, store: Store, phone_number_id: str) -> None:
    """Let the demo store answer on this WhatsApp Cloud API number id (once)."""
    if not session.scalar(select(ChannelAddress.id).where(
            ChannelAddress.channel == "whatsapp", ChannelAddress.address == phone_number_id)):
        session.add(ChannelAddress(store_id=store.id, channel="whatsapp",
                                   address=phone_number_id, selector=""))
        session.commit()


def seed_demo_store(session: Session) -> tuple[Store, bool]:
    """Create the demo store unless it exists; returns (store, created)."""
    existing = demo_store(session)
    if existing is not None:
        return existing, False
    store = Store(
        slug=DEMO_SLUG, name="Mama Mboga Fresh", currency="KES", country="KE",
        default_locale="en", locales="en,sw", timezone="Africa/Nairobi",
        contact_phone="+254700123456", tax_rate_bp=1600, prices_include_tax=True,
        accepts_cash=True,
        opening_hours={day: [["07:00", "20:00"]] for day in
                       ("mon", "tue", "wed", "thu", "fri", "sat")},
    )
    session.add(store)
    session.flush()
    session.add_all([
        ChannelAddress(store_id=store.id, channel="ussd", address=DEMO_USSD_CODE, selector=""),
        ChannelAddress(store_id=store.id, channel="sms", address=DEMO_SMS_SHORT_CODE,
                       selector=DEMO_SMS_KEYWORD),
    ])
    shop = Location(store_id=store.id, name="Kawangware shop", kind="shop", position=0)
    session.add(shop)
    session.flush()
    # Level by level, one flush each: the rows of a level go in together (a batched INSERT),
    # where a flush per row took ~75 round trips.
    categories = [Category(store_id=store.id, name=name, position=position)
                  for position, name in enumerate(CATALOG)]
    session.add_all(categories)
    session.flush()
    products = [(Product(store_id=store.id, category_id=category.id, name=product_name,
                         option_names=["Size"] if len(sizes) > 1 else []), sizes)
                for category in categories for product_name, sizes in CATALOG[category.name]]
    session.add_all(product for product, _ in products)
    session.flush()
    variants = []
    for product, sizes in products:
        for size, price, stock in sizes:
            sku = "-".join(w[:4].upper() for w in (product.name + " " + size).split())
            variants.append((Variant(store_id=store.id, product_id=product.id, sku=sku,
                                     name=size, price=price,
                                     option_values={"Size": size} if len(sizes) > 1 else {}),
                             stock))
    session.add_all(variant for variant, _ in variants)
    session.flush()
    session.add_all(Stock(store_id=store.id, variant_id=variant.id, location_id=shop.id,
                          quantity=stock) for variant, stock in variants)
    nairobi = ShippingZone(store_id=store.id, name="Nairobi West",
                           areas=["kawangware", "kilimani", "lavington", "kileleshwa",
                                  "westlands", "dagoretti"])
    session.add(nairobi)
    session.flush()
    session.add(ShippingRate(store_id=store.id, zone_id=nairobi.id, name="Boda delivery",
                             kind="free_over", amount=10000, free_over=200000))
    session.add(PickupPoint(store_id=store.id, name="Kawangware shop",
                            address_text="Kawangware stage 56, next to the chemist",
                            location_id=shop.id))
    session.add(DiscountCode(store_id=store.id, code="KARIBU10", kind="percentage", value=1000,
                             min_order=50000, first_order_only=True))
    session.commit()
    return store, True
