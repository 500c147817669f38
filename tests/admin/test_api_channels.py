"""The store's channel addresses: USSD codes, SMS short codes and keywords, WhatsApp numbers."""
from sqlalchemy import select

from commerce import stores
from commerce.models import ChannelAddress
from tests.admin.conftest import add_staff, bearer, error_of

ADDRESSES = "/api/v1/channel-addresses"


def rows(db):
    db.expire_all()
    return [(a.id, a.store_id, a.channel, a.address, a.selector)
            for a in db.scalars(select(ChannelAddress).order_by(ChannelAddress.id))]


def test_the_demo_addresses_are_listed_with_how_to_reach_the_store(api, db, store, owner):
    ussd, sms = stores.list_channel_addresses(db, store)
    assert api.get(ADDRESSES, headers=owner).get_json() == [
        {"id": ussd.id, "channel": "ussd", "address": "*384*123#", "selector": "",
         "dedicated": True, "reach": "Dial *384*123#"},
        {"id": sms.id, "channel": "sms", "address": "22384", "selector": "MBOGA",
         "dedicated": False, "reach": "Text MBOGA to 22384"}]


def test_addresses_are_added_and_lead_shoppers_to_the_store(api, db, store, owner):
    shared = api.post(ADDRESSES, headers=owner,
                      json={"channel": "ussd", "address": "*384 *500#", "selector": "45"})
    assert shared.status_code == 201
    assert {k: v for k, v in shared.get_json().items() if k != "id"} == {
        "channel": "ussd", "address": "*384*500#", "selector": "45", "dedicated": False,
        "reach": "Dial *384*500*45#"}
    assert stores.resolve_ussd(db, "*384*500#", ["45", "2"]).store.id == store.id
    keyword = api.post(ADDRESSES, headers=owner,
                       json={"channel": "sms", "address": "22384", "selector": "mama"})
    assert keyword.get_json()["selector"] == "MAMA"
    assert stores.resolve_sms(db, "22384", "mama 2")[0].id == store.id
    number = api.post(ADDRESSES, headers=owner,
                      json={"channel": "whatsapp", "address": "106540352242922"})
    assert number.get_json()["reach"] == "WhatsApp the number with id 106540352242922"
    assert stores.resolve_whatsapp(db, "106540352242922").id == store.id
    twilio = api.post(ADDRESSES, headers=owner,
                      json={"channel": "sms", "address": "+254700999888"})
    assert (twilio.get_json()["dedicated"], twilio.get_json()["reach"]) == \
        (True, "Text +254700999888")


def test_a_removed_address_no_longer_leads_to_the_store(api, db, store, owner):
    ussd = stores.list_channel_addresses(db, store)[0]
    assert api.delete(f"{ADDRESSES}/{ussd.id}", headers=owner).status_code == 204
    assert stores.find_store_by_ussd_code(db, "*384*123#") is None
    assert [a["channel"] for a in api.get(ADDRESSES, headers=owner).get_json()] == ["sms"]
    assert error_of(api.delete(f"{ADDRESSES}/{ussd.id}", headers=owner)) == \
        (404, "not_found")


def test_bad_or_taken_addresses_are_refused_and_change_nothing(api, db, store, owner,
                                                               other_store, other_owner):
    api.post(ADDRESSES, headers=other_owner,
             json={"channel": "ussd", "address": "*384*500#", "selector": "7"})
    before = rows(db)
    cases = [
        ({"channel": "ussd", "address": "*384*123#"}, (409, "channel_address_taken")),
        ({"channel": "sms", "address": "22384", "selector": "Mboga"},
         (409, "channel_address_taken")),
        ({"channel": "ussd", "address": "*384*500#", "selector": "7"},
         (409, "channel_address_taken")),
        ({"channel": "ussd", "address": "*384*500#"}, (409, "channel_address_taken")),
        ({"channel": "ussd", "address": "384"}, (422, "invalid_channel_address")),
        ({"channel": "ussd", "address": "*384*9#", "selector": "forty"},
         (422, "invalid_channel_address")),
        ({"channel": "sms", "address": "22384"}, (422, "invalid_channel_address")),
        ({"channel": "whatsapp", "address": "1065", "selector": "X"},
         (422, "invalid_channel_address")),
        ({"channel": "telegram", "address": "@mboga"}, (422, "invalid_body")),
        ({"channel": "ussd"}, (422, "invalid_body")),
        ({"channel": "ussd", "address": 384}, (422, "invalid_body")),
        ({"channel": "ussd", "address": "*1#", "store_id": other_store.id},
         (422, "invalid_body")),
        ({"channel": "ussd", "address": "*" * 61}, (422, "invalid_body")),
    ]
    for body, expected in cases:
        assert error_of(api.post(ADDRESSES, headers=owner, json=body)) == expected, body
    taken = api.post(ADDRESSES, headers=owner, json={"channel": "ussd", "address": "*384*123#"})
    assert taken.get_json()["error"]["message"] == "*384*123# is already in use."
    assert rows(db) == before


def test_only_those_with_channels_write_change_addresses(app, api, db, store):
    ussd = stores.list_channel_addresses(db, store)[0]
    before = rows(db)
    for role, phone in (("viewer", "+254711222444"), ("staff", "+254711222555")):
        headers = bearer(app, add_staff(db, store, phone, role=role))
        assert error_of(api.post(ADDRESSES, headers=headers, json={
            "channel": "ussd", "address": "*384*77#"})) == (403, "forbidden")
        assert error_of(api.delete(f"{ADDRESSES}/{ussd.id}", headers=headers)) == \
            (403, "forbidden")
    viewer = bearer(app, add_staff(db, store, "+254711222666", role="viewer"))
    assert api.get(ADDRESSES, headers=viewer).status_code == 200
    assert rows(db) == before


def test_another_stores_addresses_are_out_of_reach(api, db, store, owner, other_store,
                                                   other_owner):
    theirs = api.post(ADDRESSES, headers=other_owner,
                      json={"channel": "sms", "address": "22384", "selector": "JUMA"})
    theirs_id = theirs.get_json()["id"]
    before = rows(db)
    assert error_of(api.delete(f"{ADDRESSES}/{theirs_id}", headers=owner)) == \
        (404, "not_found")
    assert theirs_id not in [a["id"] for a in api.get(ADDRESSES, headers=owner).get_json()]
    assert api.get(ADDRESSES, headers=other_owner).get_json() == [theirs.get_json()]
    mine = stores.list_channel_addresses(db, store)[0]
    assert error_of(api.delete(f"{ADDRESSES}/{mine.id}", headers=other_owner)) == \
        (404, "not_found")
    assert rows(db) == before
    assert stores.resolve_sms(db, "22384", "JUMA hi")[0].id == other_store.id
