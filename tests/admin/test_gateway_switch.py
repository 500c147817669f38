"""Switching a store's payment gateway on and off: ``payments.gateways.do_enable_gateway`` and
``do_disable_gateway``, through the API and as services."""
import pytest
from sqlalchemy import select

from commerce.errors import NotFound
from commerce.models import PaymentGateway
from payments import gateways
from payments.secrets import EncryptionKeyMissing, SecretBox
from tests.admin.test_api_gateways import GATEWAYS, MPESA, error_of, rows


def test_switching_changes_only_whether_it_is_on(api, db, store, owner):
    api.put(f"{GATEWAYS}/mpesa", headers=owner, json=MPESA)
    [before] = rows(db)  # on, with its settings, sealed secrets and callback token
    assert api.post(f"{GATEWAYS}/mpesa/disable", headers=owner).status_code == 200
    assert rows(db) == [(*before[:3], False, *before[4:])]
    assert api.post(f"{GATEWAYS}/mpesa/enable", headers=owner).status_code == 200
    assert rows(db) == [before]  # the secrets not even sealed again


def test_a_gateway_missing_a_credential_is_not_switched_on(app, api, db, store, owner):
    api.put(f"{GATEWAYS}/mpesa", headers=owner, json={**MPESA, "enabled": False})
    row = db.scalar(select(PaymentGateway))
    box = app.extensions["duka.payments"].secrets
    row.secrets = box.seal({k: v for k, v in MPESA["secrets"].items() if k != "passkey"})
    db.commit()
    before = rows(db)

    answer = api.post(f"{GATEWAYS}/mpesa/enable", headers=owner)

    assert error_of(answer) == (422, "invalid_gateway")
    assert answer.get_json()["error"]["message"] == "M-Pesa needs passkey."
    assert rows(db) == before
    with pytest.raises(gateways.InvalidGateway):
        gateways.do_enable_gateway(db, store, box, "mpesa")
    assert rows(db) == before


def test_secrets_sealed_with_another_key_are_refused_not_used(app, db, store):
    box = app.extensions["duka.payments"].secrets
    gateways.do_configure_gateway(db, store, box, "mpesa", MPESA["settings"], MPESA["secrets"],
                                  enabled=False)
    before = rows(db)
    other_key = SecretBox("x1xmXUxVkz0sVkH0zzL3n4DZd4A3mQq0eG1HvV7yIzM=")
    with pytest.raises(EncryptionKeyMissing):
        gateways.do_enable_gateway(db, store, other_key, "mpesa")
    assert rows(db) == before


def test_a_store_without_the_gateway_gets_not_found(app, db, store):
    box = app.extensions["duka.payments"].secrets
    for switch in (lambda: gateways.do_enable_gateway(db, store, box, "momo"),
                   lambda: gateways.do_disable_gateway(db, store, "momo")):
        with pytest.raises(NotFound) as missing:
            switch()
        assert missing.value.message == "This store has no momo gateway."


def test_reconfiguring_keeps_stored_secrets_only_when_they_open(app, db, store):
    box = app.extensions["duka.payments"].secrets
    gateways.do_configure_gateway(db, store, box, "mpesa", MPESA["settings"], MPESA["secrets"])
    changed = gateways.do_configure_gateway(db, store, box, "mpesa", {"shortcode": "600000"},
                                            {"passkey": "new"}, keep_secrets=True)
    assert box.open(changed.secrets) == {**MPESA["secrets"], "passkey": "new"}
    # Sealed with another key, the stored ones are not there to keep: all must be given.
    other_key = SecretBox("x1xmXUxVkz0sVkH0zzL3n4DZd4A3mQq0eG1HvV7yIzM=")
    before = rows(db)
    with pytest.raises(gateways.InvalidGateway) as refused:
        gateways.do_configure_gateway(db, store, other_key, "mpesa", {"shortcode": "600000"},
                                      {"passkey": "new"}, keep_secrets=True)
    assert refused.value.message == "M-Pesa needs consumer_key, consumer_secret."
    assert rows(db) == before
