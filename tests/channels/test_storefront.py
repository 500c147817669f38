"""The storefront a process keeps (``commerce.storefront``): browse hops read no catalog, and a
merchant's change shows on the shopper's next hop, in every process."""
import fakeredis
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from commerce import catalog, shipping, storefront
from commerce.models import PaymentGateway, Variant

CATALOG_TABLES = ("FROM categories", "FROM products", "FROM variants", "FROM shipping_",
                  "FROM pickup_points")


def catalog_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if any(table in s for table in CATALOG_TABLES)]


def test_once_read_the_catalog_is_not_read_again_by_any_shopper(hop, statements):
    hop("", session="first")  # the first dial in this process reads the storefront
    statements.clear()
    for typed in ["", "1", "1*1"]:  # home, Vegetables, Cabbage: how many?
        screen = hop(typed, session="second", phone="+254722000111")
    assert screen.startswith("CON Cabbage KSh 60 each.")
    assert catalog_reads(statements) == []
    # Stock is not in the storefront: it is read live, so "sold out" is never stale.
    assert any("FROM stocks" in s for s in statements)
    statements.clear()
    for typed in ["1*1*1", "1*1*1*1"]:  # 1 into the cart (how do you want it?), pick up
        screen = hop(typed, session="second", phone="+254722000111")
    assert screen.startswith("CON Total KSh 60")
    # Putting it in the cart and choosing the pickup point read the variant and the point
    # afresh (what is charged is never stale); the lists of options come from the storefront.
    assert [s for s in catalog_reads(statements)
            if "FROM variants" not in s and "pickup_points.id = " not in s] == []


def test_placing_an_order_does_not_make_the_storefront_read_again(hop, statements):
    for typed in ["", "1", "1*1", "1*1*1", "1*1*1*1", "1*1*1*1*1"]:  # a cabbage, pick up, cash
        screen = hop(typed)
    assert screen.startswith("END ")
    statements.clear()
    assert hop("1", session="next").startswith("CON Choose a product:")
    assert catalog_reads(statements) == []


def test_a_new_price_shows_on_the_shoppers_next_hop(hop, db, store):
    assert "Cabbage KSh 60" in hop("1")
    cabbage = db.query(Variant).filter_by(sku="CABB").one()
    catalog.do_update_variant(db, store, cabbage.id, price=7500)
    assert "Cabbage KSh 75" in hop("1*0*1")  # home, and Vegetables again


def test_a_product_added_or_taken_off_sale_shows_at_once(hop, db, store):
    vegetables = catalog.category_tree(db, store.id)[0]["id"]
    catalog.do_create_product(db, store, "Kale", vegetables,
                              variants=[catalog.VariantInput(sku="KALE", price=3500)])
    assert "Kale (sold out)" in hop("1")  # none in stock yet
    cabbage = db.query(Variant).filter_by(sku="CABB").one()
    catalog.do_set_product_active(db, store, cabbage.product_id, False)
    assert "Cabbage" not in hop("1*0*1")


def test_a_new_delivery_zone_shows_at_checkout(hop, db, store):
    hop("1*1")  # Cabbage: how many?
    shipping.do_create_zone(db, store, "Eastlands", ["buruburu"])
    # a cabbage in the cart, and how to get it: a zone without a rate delivers nothing
    assert hop("1*1*1") == ("CON Total KSh 60\nHow do you want your order?\n"
                            "1. Pick up at Kawangware shop\n2. Delivery Nairobi West KSh 100\n"
                            "3. Add more\n4. My cart\n0. Back")
    zone = next(z for z in shipping.list_zones(db, store.id) if z.name == "Eastlands")
    shipping.do_create_rate(db, store, zone.id, "Boda", "flat", 15000)
    assert hop("1*1*1*0") == ("CON 1x Cabbage KSh 60\nTotal KSh 60\n1. Checkout\n2. Add more\n"
                              "3. Change quantities\n0. Back")  # back to the cart
    assert "Delivery Eastlands KSh 150" in hop("1*1*1*0*1")  # and checkout


def test_a_change_rolled_back_changes_nothing(hop, db, store, statements):
    hop("")
    cabbage = db.query(Variant).filter_by(sku="CABB").one()
    cabbage.price = 1
    db.flush()
    db.rollback()
    statements.clear()
    assert "Cabbage KSh 60" in hop("1")
    assert catalog_reads(statements) == []  # nothing changed: the kept storefront serves


def test_a_change_committed_after_a_savepoint_rolled_back_shows_at_once(hop, db, store):
    assert "Cabbage KSh 60" in hop("1")
    cabbage = db.query(Variant).filter_by(sku="CABB").one()
    cabbage.price = 7500
    db.flush()
    db.begin_nested().rollback()  # e.g. a duplicate refused by a unique key
    db.commit()
    assert "Cabbage KSh 75" in hop("1*0*1")


def stores_of(app, versions, clock=None) -> sessionmaker:
    """A session factory on the app's database whose storefronts live in one process of their
    own (``versions`` shared as Redis would share them)."""
    kept = storefront.Storefronts(versions, **({"clock": clock} if clock else {}))
    return sessionmaker(app.extensions["duka.engine"], expire_on_commit=False,
                        info={storefront.KEY: kept})


def test_a_change_made_in_one_process_is_seen_by_the_others_within_a_second(app, store):
    redis, now = fakeredis.FakeRedis(), [0.0]
    web_one = stores_of(app, storefront.RedisVersions(redis))
    web_two = stores_of(app, storefront.RedisVersions(redis), clock=lambda: now[0])
    with web_one() as one, web_two() as two:
        cabbage_id = one.query(Variant).filter_by(sku="CABB").one().id
        assert storefront.storefront(two, store.id).variant(cabbage_id).price == 6000
        catalog.do_update_variant(one, store, cabbage_id, price=7500)
        assert storefront.storefront(one, store.id).variant(cabbage_id).price == 7500  # at once
        now[0] = storefront.RECHECK + 0.01
        assert storefront.storefront(two, store.id).variant(cabbage_id).price == 7500


def test_without_redis_other_processes_catch_up_within_max_age(app, store):
    now = [0.0]
    web_one = stores_of(app, storefront.InProcessVersions())
    web_two = stores_of(app, storefront.InProcessVersions(), clock=lambda: now[0])
    with web_one() as one, web_two() as two:
        cabbage_id = one.query(Variant).filter_by(sku="CABB").one().id
        assert storefront.storefront(two, store.id).variant(cabbage_id).price == 6000
        catalog.do_update_variant(one, store, cabbage_id, price=7500)
        assert storefront.storefront(two, store.id).variant(cabbage_id).price == 6000
        now[0] = storefront.MAX_AGE + 1
        assert storefront.storefront(two, store.id).variant(cabbage_id).price == 7500


def test_a_change_behind_the_apps_back_shows_within_max_age(app, db, store):
    now = [0.0]
    web = stores_of(app, storefront.InProcessVersions(), clock=lambda: now[0])
    with web() as session:
        assert [c.name for c in storefront.storefront(session, store.id).categories][0] \
            == "Vegetables"
        with app.extensions["duka.engine"].begin() as conn:  # SQL by hand: no event
            conn.execute(text("UPDATE categories SET name = 'Mboga' WHERE name = 'Vegetables'"))
        assert storefront.storefront(session, store.id).categories[0].name == "Vegetables"
        now[0] = storefront.MAX_AGE + 1
        assert storefront.storefront(session, store.id).categories[0].name == "Mboga"


def test_when_redis_fails_after_a_commit_the_change_stands_and_is_logged(app, store, caplog):
    class DownVersions(storefront.InProcessVersions):
        def changed(self, store_ids):
            raise ConnectionError("redis down")

    web = stores_of(app, DownVersions())
    with web() as session:
        cabbage = session.query(Variant).filter_by(sku="CABB").one()
        catalog.do_update_variant(session, store, cabbage.id, price=7500)
    with app.extensions["duka.db"]() as db:
        assert db.get(Variant, cabbage.id).price == 7500
    assert "could not publish the storefront change" in caplog.text


def test_a_payment_gateway_switched_on_is_offered_at_the_next_summary(hop, db, store):
    summary = "1*1*1*1"  # a cabbage, pick up: the summary with the ways to pay
    for n in range(1, 5):
        screen = hop("*".join(summary.split("*")[:n]))
    assert "M-Pesa" not in screen
    db.add(PaymentGateway(store_id=store.id, provider="mpesa", enabled=True,
                          callback_token="test-token", settings={"shortcode": "174379"}))
    db.commit()
    assert "How do you want your order?" in hop(summary + "*0")  # back to pickup or delivery
    assert hop(summary + "*0*1") == ("CON Total KSh 60\n1. Pay with M-Pesa\n2. Pay cash at pickup\n"
                                     "3. Discount code\n0. Back")  # pick up


def test_a_process_keeps_a_bounded_number_of_storefronts(app, db, store):
    from commerce.stores import do_create_store

    others = [do_create_store(db, f"duka-{n}", f"Duka {n}", "KES", "KE", "en", ["en"],
                              "Africa/Nairobi") for n in range(3)]
    kept = storefront.Storefronts(storefront.InProcessVersions(), max_stores=2)
    with app.extensions["duka.db"]() as session:
        for one in (store, *others):
            kept.get(session, one.id)
        assert sorted(kept._kept) == [others[1].id, others[2].id]  # the two built last
        assert kept.get(session, store.id).products  # let go of, then read again
        assert sorted(kept._kept) == sorted([others[2].id, store.id])
