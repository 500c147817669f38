"""What every endpoint of the merchant API does the same way: errors, strict bodies, pages,
fields=, ETag, Idempotency-Key, gzip, size and rate limits, CORS."""
import gzip
import json

from sqlalchemy import func, select

from admin.models import Staff
from tests.admin.conftest import add_staff, bearer, error_of


def staff_count(db):
    db.expire_all()
    return db.scalar(select(func.count(Staff.id)))


def test_bad_bodies_get_the_error_shape_and_change_nothing(api, db, owner):
    before = staff_count(db)
    cases = [
        (dict(data="{not json", content_type="application/json"), (400, "malformed_json")),
        (dict(data="phone=1", content_type="application/x-www-form-urlencoded"),
         (415, "unsupported_media_type")),
        (dict(json={"phone": "+254711000001", "role": "owner", "salary": 5}),
         (422, "invalid_body")),  # an unknown field
        (dict(json={"phone": 254711000001, "role": "owner"}), (422, "invalid_body")),  # a type
        (dict(json={"phone": "+254711000001", "role": "king"}), (422, "invalid_body")),
        (dict(json={"role": "owner"}), (422, "invalid_body")),  # a missing field
        (dict(json=[1, 2]), (422, "invalid_body")),
    ]
    for kwargs, expected in cases:
        assert error_of(api.post("/api/v1/staff", headers=owner, **kwargs)) == expected, kwargs
    assert staff_count(db) == before


def test_a_422_says_which_field_and_why(api, owner):
    answer = api.post("/api/v1/staff", headers=owner, json={"phone": "+254711000001",
                                                            "role": "owner", "name": 7})
    assert answer.get_json()["error"]["details"] == [
        {"field": "name", "problem": "Input should be a valid string"}]


def test_unknown_routes_methods_and_query_params_are_json_errors(api, owner):
    assert error_of(api.get("/api/v1/nothing-here", headers=owner)) == (404, "not_found")
    assert error_of(api.put("/api/v1/staff", headers=owner)) == (405, "method_not_allowed")
    assert error_of(api.get("/api/v1/staff?colour=red", headers=owner)) == (422, "invalid_query")
    assert error_of(api.get("/api/v1/staff?limit=0", headers=owner)) == (422, "invalid_query")
    assert error_of(api.get("/api/v1/staff?cursor=bm9wZQ", headers=owner)) == (400, "bad_cursor")


def test_a_huge_body_is_refused_before_it_is_read(make_app, db, store):
    app = make_app(API_MAX_BODY_BYTES="1000")
    headers = bearer(app, add_staff(db, store, "+254700123456"))
    answer = app.test_client().post("/api/v1/staff", headers=headers,
                                    data=json.dumps({"name": "x" * 5000}),
                                    content_type="application/json")
    assert error_of(answer) == (413, "too_large")


def test_pages_follow_the_cursor_newest_first(app, api, db, store, owner):
    for n in range(5):
        add_staff(db, store, f"+25471100000{n}", role="viewer")
    first = api.get("/api/v1/staff?limit=4", headers=owner).get_json()
    second = api.get(f"/api/v1/staff?limit=4&cursor={first['next_cursor']}",
                     headers=owner).get_json()
    ids = [s["id"] for s in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids)) == 6
    assert second["next_cursor"] is None


def test_fields_trims_each_item(api, owner):
    page = api.get("/api/v1/staff?fields=id,role", headers=owner).get_json()
    assert [set(item) for item in page["items"]] == [{"id", "role"}]


def test_etag_answers_304_until_something_changes(api, db, store, owner):
    first = api.get("/api/v1/staff", headers=owner)
    etag = first.headers["ETag"]
    same = api.get("/api/v1/staff", headers={**owner, "If-None-Match": etag})
    assert (same.status_code, same.get_data()) == (304, b"")
    add_staff(db, store, "+254711000009", role="viewer")
    changed = api.get("/api/v1/staff", headers={**owner, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_an_idempotency_key_replays_the_first_answer(api, db, owner):
    body = {"phone": "+254711000001", "role": "viewer"}
    headers = {**owner, "Idempotency-Key": "add-wanjiku-1"}
    first = api.post("/api/v1/staff", headers=headers, json=body)
    again = api.post("/api/v1/staff", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert staff_count(db) == 2  # the owner and Wanjiku, once

    other = api.post("/api/v1/staff", headers=headers, json={**body, "role": "staff"})
    assert error_of(other) == (422, "idempotency_key_reused")


def test_a_refused_request_does_not_use_up_its_key(api, db, owner):
    headers = {**owner, "Idempotency-Key": "k-2"}
    bad = api.post("/api/v1/staff", headers=headers, json={"phone": "nope", "role": "viewer"})
    assert bad.status_code == 422
    assert api.post("/api/v1/staff", headers={**owner, "Idempotency-Key": "k-2"},
                    json={"phone": "nope", "role": "viewer"}).status_code == 422


def test_gzip_when_the_client_accepts_it(api, db, store, owner):
    for n in range(10):
        add_staff(db, store, f"+2547110000{n:02d}", role="viewer")
    plain = api.get("/api/v1/staff", headers=owner)
    zipped = api.get("/api/v1/staff", headers={**owner, "Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.get_data())) == plain.get_json()
    assert len(zipped.get_data()) < len(plain.get_data())


def test_rate_limits_per_caller_say_when_to_retry(make_app, db, store):
    app = make_app(API_REQUESTS_PER_MINUTE="3")
    headers = bearer(app, add_staff(db, store, "+254700123456"))
    client = app.test_client()
    statuses = [client.get("/api/v1/staff", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/staff", headers=headers)
    assert error_of(limited) == (429, "too_many_requests")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_cors_only_for_the_configured_origins(make_app):
    app = make_app(CORS_ORIGINS="https://admin.duka.example")
    client = app.test_client()
    allowed = client.options("/api/v1/openapi.json", headers={
        "Origin": "https://admin.duka.example", "Access-Control-Request-Method": "GET"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://admin.duka.example"
    other = client.get("/api/v1/openapi.json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_text_with_a_nul_character_is_refused_everywhere(api, db, owner):
    before = staff_count(db)
    answer = api.post("/api/v1/staff", headers=owner,
                      json={"phone": "+254711000001", "role": "viewer", "name": "Wan\x00jiku"})
    assert error_of(answer) == (422, "invalid_body")
    assert staff_count(db) == before
