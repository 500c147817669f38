"""Signing in to the merchant API: a code by SMS or a password, JWTs, API keys, roles."""
import re
import time

import jwt
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from admin.models import ApiKey
from tests.admin.conftest import OWNER_PHONE, add_staff, bearer, staff_row

STORE = "mama-mboga"


def test_a_code_by_sms_signs_staff_in_and_works_once(app, api, db, store, fake_at, run_jobs):
    add_staff(db, store, OWNER_PHONE)
    sent = api.post("/api/v1/auth/code", json={"store": STORE, "phone": "0700 123456"})
    assert sent.status_code == 202
    run_jobs()
    [sms] = [m for m in fake_at.messages if m["to"] == OWNER_PHONE]
    code = re.search(r"code is (\d{6})", sms["message"]).group(1)

    signed_in = api.post("/api/v1/auth/code/verify",
                         json={"store": STORE, "phone": OWNER_PHONE, "code": code})
    assert signed_in.status_code == 200
    tokens = signed_in.get_json()
    assert (tokens["token_type"], tokens["expires_in"]) == ("Bearer", 900)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["role"] == "owner" and claims["store_id"] == store.id
    assert claims["sub"].startswith("staff:") and "orders:write" in claims["permissions"]
    assert claims["exp"] - claims["iat"] == 900

    again = api.post("/api/v1/auth/code/verify",
                     json={"store": STORE, "phone": OWNER_PHONE, "code": code})
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "invalid_code"


def test_a_stranger_learns_nothing_and_gets_no_sms(api, db, store, fake_at, run_jobs):
    answer = api.post("/api/v1/auth/code", json={"store": STORE, "phone": "+254799999999"})
    assert answer.status_code == 202
    assert answer.get_json()["status"] == "sent"
    run_jobs()
    assert fake_at.messages == []


def test_five_wrong_codes_burn_the_code(app, api, db, store, fake_at, run_jobs):
    add_staff(db, store, OWNER_PHONE)
    api.post("/api/v1/auth/code", json={"store": STORE, "phone": OWNER_PHONE})
    run_jobs()
    code = re.search(r"code is (\d{6})", fake_at.messages[-1]["message"]).group(1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert api.post("/api/v1/auth/code/verify", json={
            "store": STORE, "phone": OWNER_PHONE, "code": wrong}).status_code == 401
    late = api.post("/api/v1/auth/code/verify",
                    json={"store": STORE, "phone": OWNER_PHONE, "code": code})
    assert late.status_code == 401


def test_codes_are_rate_limited_per_phone_with_retry_after(api, db, store):
    add_staff(db, store, OWNER_PHONE)
    answers = [api.post("/api/v1/auth/code", json={"store": STORE, "phone": OWNER_PHONE})
               for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 600


def test_password_sign_in_and_refresh(app, api, db, store):
    add_staff(db, store, OWNER_PHONE, password_hash=generate_password_hash("a long secret"))
    bad = api.post("/api/v1/auth/password",
                   json={"store": STORE, "phone": OWNER_PHONE, "password": "guess"})
    assert bad.status_code == 401
    tokens = api.post("/api/v1/auth/password", json={
        "store": STORE, "phone": OWNER_PHONE, "password": "a long secret"}).get_json()
    fresh = api.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert fresh.status_code == 200
    # An access token is not a refresh token, and vice versa.
    assert api.post("/api/v1/auth/refresh",
                    json={"refresh_token": tokens["access_token"]}).status_code == 401
    assert api.get("/api/v1/staff", headers={
        "Authorization": f"Bearer {tokens['refresh_token']}"}).status_code == 401


def test_expired_and_forged_tokens_are_refused(app, api, db, store):
    staff = add_staff(db, store, OWNER_PHONE)
    now = int(time.time())
    claims = {"sub": f"staff:{staff.id}", "store_id": store.id, "role": "owner",
              "type": "access", "iat": now - 3600, "exp": now - 60}
    expired = jwt.encode(claims, app.config["SECRET_KEY"], algorithm="HS256")
    forged = jwt.encode({**claims, "exp": now + 600}, "not-our-secret-but-as-long-as-ours",
                        algorithm="HS256")
    for token, code in ((expired, "token_expired"), (forged, "invalid_token"),
                        ("nonsense", "invalid_token")):
        answer = api.get("/api/v1/staff", headers={"Authorization": f"Bearer {token}"})
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (401, code)
    assert api.get("/api/v1/staff").status_code == 401


def test_a_deactivated_or_demoted_member_loses_access_at_once(app, api, db, store, owner):
    manager = add_staff(db, store, "+254711222333", role="manager")
    headers = bearer(app, manager)
    assert api.get("/api/v1/staff", headers=headers).status_code == 200
    api.patch(f"/api/v1/staff/{manager.id}", json={"role": "staff"}, headers=owner)
    assert api.get("/api/v1/staff", headers=headers).status_code == 403
    api.patch(f"/api/v1/staff/{manager.id}", json={"active": False}, headers=owner)
    assert api.get("/api/v1/products", headers=headers).status_code in (401, 404)


def test_roles_limit_what_staff_may_do(app, api, db, store, owner):
    viewer = bearer(app, add_staff(db, store, "+254711222444", role="viewer"))
    answer = api.post("/api/v1/staff", json={"phone": "+254711222555", "role": "owner"},
                      headers=viewer)
    assert answer.status_code == 403
    assert answer.get_json()["error"] == {
        "code": "forbidden", "message": "This needs the staff:write permission.",
        "details": {}}
    assert staff_row(db, store, "+254711222555") is None


def test_the_last_owner_cannot_be_demoted(api, db, store, owner):
    me = staff_row(db, store, OWNER_PHONE)
    answer = api.patch(f"/api/v1/staff/{me.id}", json={"role": "viewer"}, headers=owner)
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "last_owner"


def test_an_api_key_is_shown_once_stored_hashed_and_can_be_revoked(api, db, store, owner):
    created = api.post("/api/v1/api-keys", json={"name": "stock sync", "role": "manager"},
                       headers=owner)
    assert created.status_code == 201
    key = created.get_json()["key"]
    assert key.startswith("dk_")
    row = db.scalar(select(ApiKey))
    assert key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
    assert "key" not in api.get("/api/v1/api-keys", headers=owner).get_json()["items"][0]

    assert api.get("/api/v1/staff", headers={"X-Api-Key": key}).status_code == 200
    assert api.get("/api/v1/staff", headers={"X-Api-Key": key + "x"}).status_code == 401
    assert api.delete(f"/api/v1/api-keys/{row.id}", headers=owner).status_code == 204
    assert api.get("/api/v1/staff", headers={"X-Api-Key": key}).status_code == 401


def test_another_stores_staff_and_keys_are_out_of_reach(api, db, store, owner, other_owner,
                                                        other_store):
    theirs = add_staff(db, other_store, "+254733000222", role="staff")
    assert api.get(f"/api/v1/staff/{theirs.id}", headers=owner).status_code == 404
    assert api.patch(f"/api/v1/staff/{theirs.id}", json={"role": "owner"},
                     headers=owner).status_code == 404
    assert all(s["phone"] != "+254733000222"
               for s in api.get("/api/v1/staff", headers=owner).get_json()["items"])
    key = api.post("/api/v1/api-keys", json={"name": "theirs", "role": "viewer"},
                   headers=other_owner).get_json()
    assert api.delete(f"/api/v1/api-keys/{key['id']}", headers=owner).status_code == 404
    db.expire_all()
    assert db.get(ApiKey, key["id"]).revoked_at is None
