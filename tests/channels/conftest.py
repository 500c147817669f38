"""Fixtures for the messaging channels: local fakes of the Graph (WhatsApp Cloud) and Twilio
APIs, and apps configured to use them with the real heyoo and twilio clients."""
import pytest
from sqlalchemy import event

from commerce import catalog, inventory
from tests.fakes import graph, twilio

WHATSAPP_APP_SECRET = "test-app-secret"
WHATSAPP_VERIFY_TOKEN = "test-verify-token"
PUBLIC_URL = "https://shop.example.com"  # as Twilio calls us, through a proxy
AT_CALLBACK_TOKEN = "test-at-callback-token"  # required wherever AT SMS is on, as in tests


@pytest.fixture
def make_app(make_app):
    """Apps with AT SMS on (every test app) carry its callback token, as a deployment must."""

    def make(**overrides):
        return make_app(**{"AT_CALLBACK_TOKEN": AT_CALLBACK_TOKEN, **overrides})

    return make


@pytest.fixture(scope="session")
def fake_graph():
    fake = graph.FakeGraph().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_twilio():
    fake = twilio.FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def messaging_settings(fake_graph, fake_twilio) -> dict:
    """Settings that turn WhatsApp Cloud and Twilio on, pointed at their local fakes. A test
    module overrides ``app`` with ``make_app(**messaging_settings)``."""
    fake_graph.reset()
    fake_twilio.reset()
    return dict(
        WHATSAPP_TOKEN=fake_graph.token, WHATSAPP_API_URL=fake_graph.url,
        WHATSAPP_APP_SECRET=WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN=WHATSAPP_VERIFY_TOKEN,
        TWILIO_ACCOUNT_SID=fake_twilio.account_sid, TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
        TWILIO_API_URL=fake_twilio.url, PUBLIC_BASE_URL=PUBLIC_URL, MESSAGE_HTTP_TIMEOUT="1")


@pytest.fixture
def statements(app):
    """The SQL statements the app sends, as they go (clear it to count from a point on)."""
    seen = []

    def count(_conn, _cursor, statement, *_):
        seen.append(statement)

    engine = app.extensions["duka.engine"]
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def hop(app, store):
    """A USSD hop through the real endpoint, as Africa's Talking sends it: the screen back."""
    client = app.test_client()

    def hop(text: str, session: str = "s1", phone: str = "+254712345678",
            code: str = "*384*123#") -> str:
        response = client.post("/channels/ussd/africastalking", data={
            "sessionId": session, "serviceCode": code, "phoneNumber": phone,
            "networkCode": "63902", "text": text})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    return hop


@pytest.fixture
def big_aisle(db, store):
    """Vegetables with 25 more products, each in stock: a list of several pages anywhere."""
    vegetables = catalog.category_tree(db, store.id)[0]["id"]
    shelf = inventory.default_location(db, store.id)
    for n in range(1, 26):
        product = catalog.do_create_product(
            db, store, f"Kienyeji greens bunch number {n:02d}", vegetables,
            variants=[catalog.VariantInput(sku=f"KIEN-{n:02d}", price=3000 + n)])
        inventory.do_set_stock(db, store, product.variants[0].id, shelf.id, 10)
