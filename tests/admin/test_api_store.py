"""GET and PATCH /store: the store's own settings, through commerce.stores."""
from commerce.models import Store
from tests.admin.conftest import add_staff, bearer, error_of

DEMO = {
    "slug": "mama-mboga", "name": "Mama Mboga Fresh", "currency": "KES", "country": "KE",
    "default_locale": "en", "locales": ["en", "sw"], "timezone": "Africa/Nairobi",
    "contact_phone": "+254700123456",
    "opening_hours": {day: [["07:00", "20:00"]]
                      for day in ("mon", "tue", "wed", "thu", "fri", "sat")},
    "tax_rate_bp": 1600, "prices_include_tax": True, "accepts_cash": True,
    "reservation_minutes": 15, "abandoned_cart_minutes": 60, "low_stock_threshold": 5,
}


def snapshot(db, store_id):
    db.expire_all()
    store = db.get(Store, store_id)
    return {column: getattr(store, column) for column in (
        "name", "locales", "default_locale", "timezone", "contact_phone", "opening_hours",
        "tax_rate_bp", "prices_include_tax", "accepts_cash", "reservation_minutes",
        "abandoned_cart_minutes", "low_stock_threshold")}


def test_the_owner_reads_the_stores_settings(api, store, owner):
    answer = api.get("/api/v1/store", headers=owner)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["id"] == store.id and body["created_at"]
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == DEMO


def test_settings_change_together(api, db, store, owner):
    answer = api.patch("/api/v1/store", headers=owner, json={
        "name": "  Mama Mboga Fresh & Co ", "locales": ["sw", "en", "fr"],
        "default_locale": "sw", "timezone": "Africa/Kampala", "contact_phone": "0711 222333",
        "opening_hours": {"sun": [["14:00", "18:00"], ["08:00", "12:00"]]},
        "tax_rate_bp": 0, "prices_include_tax": False, "accepts_cash": False,
        "reservation_minutes": 30, "abandoned_cart_minutes": 120, "low_stock_threshold": 10})
    assert answer.status_code == 200
    changed = {**DEMO, "name": "Mama Mboga Fresh & Co", "locales": ["sw", "en", "fr"],
               "default_locale": "sw", "timezone": "Africa/Kampala",
               "contact_phone": "+254711222333",
               "opening_hours": {"sun": [["08:00", "12:00"], ["14:00", "18:00"]]},
               "tax_rate_bp": 0, "prices_include_tax": False, "accepts_cash": False,
               "reservation_minutes": 30, "abandoned_cart_minutes": 120,
               "low_stock_threshold": 10}
    assert {k: v for k, v in answer.get_json().items() if k not in ("id", "created_at")} == \
        changed
    assert snapshot(db, store.id) == {
        "name": "Mama Mboga Fresh & Co", "locales": "sw,en,fr", "default_locale": "sw",
        "timezone": "Africa/Kampala", "contact_phone": "+254711222333",
        "opening_hours": {"sun": [["08:00", "12:00"], ["14:00", "18:00"]]},
        "tax_rate_bp": 0, "prices_include_tax": False, "accepts_cash": False,
        "reservation_minutes": 30, "abandoned_cart_minutes": 120, "low_stock_threshold": 10}


def test_only_the_fields_sent_change_and_null_clears_phone_and_hours(api, db, store, owner):
    before = snapshot(db, store.id)
    answer = api.patch("/api/v1/store", headers=owner,
                       json={"contact_phone": None, "opening_hours": None})
    assert answer.status_code == 200
    assert snapshot(db, store.id) == {**before, "contact_phone": None, "opening_hours": None}
    # Languages alone: the default must still be among them.
    answer = api.patch("/api/v1/store", headers=owner, json={"locales": ["en", "fr"]})
    assert answer.get_json()["locales"] == ["en", "fr"]
    assert error_of(api.patch("/api/v1/store", headers=owner, json={"locales": ["fr"]})) == \
        (422, "invalid_store")


def test_bad_settings_are_refused_and_change_nothing(api, db, store, owner):
    before = snapshot(db, store.id)
    cases = [
        ({"reservation_minutes": 0}, (422, "invalid_body")),
        ({"reservation_minutes": "15"}, (422, "invalid_body")),  # JSON's own types
        ({"tax_rate_bp": -1}, (422, "invalid_body")),
        ({"tax_rate_bp": 10_001}, (422, "invalid_body")),
        ({"low_stock_threshold": 2**40}, (422, "invalid_body")),
        ({"prices_include_tax": "yes"}, (422, "invalid_body")),
        ({"accepts_cash": "no"}, (422, "invalid_body")),
        ({"accepts_cash": 0}, (422, "invalid_body")),
        ({"accepts_cash": None}, (422, "invalid_body")),  # null is not "unchanged" here
        ({"accepts_cash": False, "name": ""}, (422, "invalid_body")),  # all or nothing
        ({"accepts_cash": False, "timezone": "Mars/Olympus"}, (422, "invalid_store")),
        ({"currency": "USD"}, (422, "invalid_body")),  # not a setting: unknown field
        ({"name": ""}, (422, "invalid_body")),
        ({"name": "x" * 121}, (422, "invalid_body")),
        ({"locales": ["en", "xx"]}, (422, "invalid_body")),
        ({"opening_hours": {"someday": [["08:00", "18:00"]]}}, (422, "invalid_body")),
        ({"opening_hours": {"mon": [["8am", "6pm"]]}}, (422, "invalid_body")),
        # Checked by the core, with its words:
        ({"name": "   "}, (422, "invalid_store")),
        ({"timezone": "Africa/Atlantis"}, (422, "invalid_store")),
        ({"default_locale": "fr"}, (422, "invalid_store")),  # not offered
        ({"contact_phone": "12"}, (422, "invalid_store")),
        ({"opening_hours": {"mon": [["18:00", "08:00"]]}}, (422, "invalid_store")),
        ({"opening_hours": {"mon": [["08:00", "13:00"], ["12:00", "18:00"]]}},
         (422, "invalid_store")),
        # All or nothing: a good name does not stay when the time zone is bad.
        ({"name": "New name", "timezone": "Mars/Olympus"}, (422, "invalid_store")),
        ({"name": "New name", "reservation_minutes": 0}, (422, "invalid_body")),
    ]
    for body, expected in cases:
        assert error_of(api.patch("/api/v1/store", headers=owner, json=body)) == expected, body
    assert error_of(api.patch("/api/v1/store", headers=owner, data="name=x",
                              content_type="text/plain")) == (415, "unsupported_media_type")
    assert snapshot(db, store.id) == before


def test_the_core_says_which_setting_is_wrong(api, owner):
    answer = api.patch("/api/v1/store", headers=owner, json={"timezone": "Africa/Atlantis"})
    assert answer.get_json()["error"] == {
        "code": "invalid_store",
        "message": "'Africa/Atlantis' is not an IANA time zone like Africa/Nairobi.",
        "details": {"field": "timezone"}}


def test_a_viewer_reads_but_cannot_change_settings(app, api, db, store, owner):
    viewer = bearer(app, add_staff(db, store, "+254711222444", role="viewer"))
    before = snapshot(db, store.id)
    assert api.get("/api/v1/store", headers=viewer).status_code == 200
    answer = api.patch("/api/v1/store", headers=viewer, json={"name": "Mine now"})
    assert error_of(answer) == (403, "forbidden")
    assert answer.get_json()["error"]["message"] == "This needs the store:write permission."
    assert snapshot(db, store.id) == before
    assert api.get("/api/v1/store").status_code == 401


def test_each_token_reaches_its_own_store_only(api, db, store, owner, other_store,
                                               other_owner):
    theirs = api.get("/api/v1/store", headers=other_owner).get_json()
    assert (theirs["id"], theirs["name"]) == (other_store.id, "Duka ya Juma")
    mine_before = snapshot(db, store.id)
    answer = api.patch("/api/v1/store", headers=other_owner,
                       json={"name": "Juma's", "low_stock_threshold": 1})
    assert answer.status_code == 200 and answer.get_json()["id"] == other_store.id
    assert snapshot(db, store.id) == mine_before
    assert api.get("/api/v1/store", headers=owner).get_json()["name"] == "Mama Mboga Fresh"
    # A store's id in a path means nothing here: there is no /store/<id> to reach another.
    assert error_of(api.get(f"/api/v1/store/{other_store.id}", headers=owner)) == \
        (404, "not_found")


def test_cash_on_delivery_is_turned_off_and_on_again(api, db, store, owner):
    before = snapshot(db, store.id)
    assert before["accepts_cash"] is True  # every store takes cash until told otherwise
    answer = api.patch("/api/v1/store", headers=owner, json={"accepts_cash": False})
    assert answer.status_code == 200 and answer.get_json()["accepts_cash"] is False
    assert snapshot(db, store.id) == {**before, "accepts_cash": False}
    assert api.get("/api/v1/store", headers=owner).get_json()["accepts_cash"] is False
    answer = api.patch("/api/v1/store", headers=owner, json={"accepts_cash": True})
    assert answer.get_json()["accepts_cash"] is True
    assert snapshot(db, store.id) == before


def test_a_setting_that_is_not_true_or_false_says_which_and_changes_nothing(api, db, store,
                                                                           owner):
    before = snapshot(db, store.id)
    answer = api.patch("/api/v1/store", headers=owner, json={"accepts_cash": "no"})
    assert answer.status_code == 422 and answer.content_type == "application/json"
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_body"
    assert error["details"] == [{"field": "accepts_cash",
                                 "problem": "Input should be a valid boolean"}]
    assert snapshot(db, store.id) == before
