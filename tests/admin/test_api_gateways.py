"""Payment gateway settings: configured with the store's SecretBox; secrets are write-only."""
from sqlalchemy import select

from commerce.models import PaymentGateway
from payments import gateways
from tests.admin.conftest import add_staff, bearer, error_of

GATEWAYS = "/api/v1/gateways"
MPESA = {"settings": {"shortcode": "174379"},
         "secrets": {"consumer_key": "ck-very-secret-1", "consumer_secret": "cs-very-secret-2",
                     "passkey": "pk-very-secret-3"}}
SECRET_VALUES = ("ck-very-secret-1", "cs-very-secret-2", "pk-very-secret-3")


def rows(db):
    db.expire_all()
    return [(g.id, g.store_id, g.provider, g.enabled, g.settings, g.secrets, g.callback_token,
             g.simulated) for g in db.scalars(select(PaymentGateway).order_by(PaymentGateway.id))]


def no_secret_in(answer):
    text = answer.get_data(as_text=True)
    assert not any(value in text for value in SECRET_VALUES), text
    return answer


def test_the_providers_and_what_each_needs(api, owner):
    providers = api.get("/api/v1/gateway-providers", headers=owner).get_json()
    assert [p["name"] for p in providers] == ["flutterwave", "momo", "mpesa", "paystack"]
    assert providers[2] == {
        "name": "mpesa", "label": "M-Pesa", "settings_fields": ["shortcode"],
        "optional_settings_fields": ["till_number"],
        "secret_fields": ["consumer_key", "consumer_secret", "passkey"],
        "optional_secret_fields": ["initiator_name", "security_credential"]}


def test_a_gateway_is_configured_and_its_secrets_never_come_back(app, api, db, store, owner):
    assert api.get(GATEWAYS, headers=owner).get_json() == []
    answer = no_secret_in(api.put(f"{GATEWAYS}/mpesa", headers=owner, json=MPESA))
    assert answer.status_code == 200
    row = db.scalar(select(PaymentGateway).where(PaymentGateway.store_id == store.id))
    body = answer.get_json()
    assert {k: v for k, v in body.items() if k not in ("created_at", "updated_at")} == {
        "provider": "mpesa", "label": "M-Pesa", "enabled": True, "simulated": False,
        "settings": {"shortcode": "174379"},
        "secrets_set": {"consumer_key": True, "consumer_secret": True, "passkey": True,
                        "initiator_name": False, "security_credential": False},
        "secrets_readable": True,
        "callback_url": f"http://127.0.0.1:5000/payments/mpesa/callback/{row.callback_token}"}
    # Sealed at rest, and open with the store's box.
    assert not any(value in row.secrets for value in SECRET_VALUES)
    box = app.extensions["duka.payments"].secrets
    assert box.open(row.secrets) == MPESA["secrets"]
    for path in (GATEWAYS, f"{GATEWAYS}/mpesa"):
        assert no_secret_in(api.get(path, headers=owner)).status_code == 200
    assert api.get(GATEWAYS, headers=owner).get_json() == [
        api.get(f"{GATEWAYS}/mpesa", headers=owner).get_json()]


def test_a_setting_changes_without_typing_the_secrets_again(app, api, db, store, owner):
    api.put(f"{GATEWAYS}/mpesa", headers=owner, json=MPESA)
    token = rows(db)[0][6]
    answer = no_secret_in(api.put(f"{GATEWAYS}/mpesa", headers=owner, json={
        "settings": {"shortcode": "600000", "till_number": "5123456"},
        "secrets": {"passkey": "a-new-passkey"}}))
    assert answer.get_json()["settings"] == {"shortcode": "600000", "till_number": "5123456"}
    row = db.scalar(select(PaymentGateway))
    assert app.extensions["duka.payments"].secrets.open(row.secrets) == {
        **MPESA["secrets"], "passkey": "a-new-passkey"}
    assert row.callback_token == token  # the provider has it registered


def test_disable_and_enable_change_what_checkout_offers(api, db, store, owner):
    api.put(f"{GATEWAYS}/mpesa", headers=owner, json=MPESA)
    off = api.post(f"{GATEWAYS}/mpesa/disable", headers=owner)
    assert off.status_code == 200 and off.get_json()["enabled"] is False
    db.expire_all()
    assert gateways.offered_methods(db, store, allow_simulated=False) == ("cod",)
    on = no_secret_in(api.post(f"{GATEWAYS}/mpesa/enable", headers=owner))
    assert on.get_json()["enabled"] is True and on.get_json()["secrets_set"]["passkey"]
    db.expire_all()
    assert gateways.offered_methods(db, store, allow_simulated=False) == ("mpesa", "cod")
    # A signed provider's callback is its webhook.
    paystack = api.put(f"{GATEWAYS}/paystack", headers=owner, json={
        "settings": {"mode": "card"}, "secrets": {"secret_key": "sk_test_x"},
        "enabled": False})
    assert (paystack.get_json()["callback_url"], paystack.get_json()["enabled"]) == (
        "http://127.0.0.1:5000/payments/paystack/webhook", False)


def test_bad_configurations_are_refused_and_change_nothing(api, db, store, owner):
    api.put(f"{GATEWAYS}/mpesa", headers=owner, json=MPESA)
    before = rows(db)
    cases = [
        ("paystack", {"settings": {"mode": "card"}}, (422, "invalid_gateway")),  # no key
        ("momo", {"settings": {"api_user": "u"}, "secrets": {"api_key": "k"}},
         (422, "invalid_gateway")),
        ("mpesa", {**MPESA, "settings": {"shortcode": "1", "colour": "green"}},
         (422, "invalid_gateway")),
        ("mpesa", {**MPESA, "settings": {}}, (422, "invalid_gateway")),
        ("mpesa", {**MPESA, "secrets": {"passkey": ""}}, (422, "invalid_gateway")),
        ("mpesa", {**MPESA, "settings": {"shortcode": 174379}}, (422, "invalid_body")),
        ("mpesa", {**MPESA, "enabled": "yes"}, (422, "invalid_body")),
        ("mpesa", {**MPESA, "simulated": True}, (422, "invalid_body")),
        ("mpesa", {**MPESA, "settings": {"shortcode": "x" * 501}}, (422, "invalid_body")),
        ("mpesa", [1, 2], (422, "invalid_body")),
        ("bitcoin", MPESA, (404, "not_found")),
    ]
    for provider, body, expected in cases:
        answer = no_secret_in(api.put(f"{GATEWAYS}/{provider}", headers=owner, json=body))
        assert error_of(answer) == expected, (provider, body)
    missing = api.put(f"{GATEWAYS}/paystack", headers=owner, json={"settings": {"mode": "x"}})
    assert missing.get_json()["error"] == {
        "code": "invalid_gateway", "message": "Card (Paystack) needs secret_key.",
        "details": {}}
    assert error_of(api.post(f"{GATEWAYS}/momo/enable", headers=owner)) == (404, "not_found")
    assert error_of(api.get(f"{GATEWAYS}/bitcoin", headers=owner)) == (404, "not_found")
    assert rows(db) == before


def test_only_the_owner_changes_gateways(app, api, db, store, owner):
    api.put(f"{GATEWAYS}/mpesa", headers=owner, json=MPESA)
    before = rows(db)
    for role, phone in (("manager", "+254711222333"), ("viewer", "+254711222444")):
        headers = bearer(app, add_staff(db, store, phone, role=role))
        assert no_secret_in(api.get(GATEWAYS, headers=headers)).status_code == 200
        for answer in (api.put(f"{GATEWAYS}/mpesa", headers=headers, json=MPESA),
                       api.post(f"{GATEWAYS}/mpesa/disable", headers=headers)):
            assert error_of(answer) == (403, "forbidden")
    counter = bearer(app, add_staff(db, store, "+254711222555", role="staff"))
    assert error_of(api.get(GATEWAYS, headers=counter)) == (403, "forbidden")
    assert rows(db) == before


def test_an_idempotent_replay_carries_no_secret_either(api, db, store, owner):
    api.put(f"{GATEWAYS}/mpesa", headers=owner, json=MPESA)
    headers = {**owner, "Idempotency-Key": "enable-once"}
    first = no_secret_in(api.post(f"{GATEWAYS}/mpesa/enable", headers=headers))
    again = no_secret_in(api.post(f"{GATEWAYS}/mpesa/enable", headers=headers))
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()


def test_another_stores_gateway_is_out_of_reach(api, db, store, owner, other_store,
                                                other_owner):
    api.put(f"{GATEWAYS}/mpesa", headers=other_owner, json=MPESA)
    before = rows(db)
    assert api.get(GATEWAYS, headers=owner).get_json() == []
    for answer in (api.get(f"{GATEWAYS}/mpesa", headers=owner),
                   api.post(f"{GATEWAYS}/mpesa/disable", headers=owner),
                   api.post(f"{GATEWAYS}/mpesa/enable", headers=owner)):
        assert error_of(answer) == (404, "not_found")
    assert rows(db) == before
    # Mama Mboga's own M-Pesa is a row of her own: Juma's is untouched, and not reused.
    mine = api.put(f"{GATEWAYS}/mpesa", headers=owner, json={
        "settings": {"shortcode": "999999"}, "secrets": {"consumer_key": "a",
                                                         "consumer_secret": "b",
                                                         "passkey": "c"}})
    assert mine.status_code == 200
    after = rows(db)
    assert after[0] == before[0] and len(after) == 2 and after[1][1] == store.id
    assert after[1][6] != before[0][6]  # its own callback token
    assert api.get(f"{GATEWAYS}/mpesa", headers=other_owner).get_json()["settings"] == \
        {"shortcode": "174379"}
