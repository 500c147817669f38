def test_healthz_answers_while_the_process_lives(app):
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_reports_each_dependency(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert response.json["checks"]["database"] == "ok"
    expected_redis = "ok" if app.config.get("REDIS_URL") else \
        "not configured (in-process sessions, inline jobs)"
    assert response.json["checks"]["redis"] == expected_redis


def test_readyz_is_503_when_redis_is_unreachable(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "not ready",
                             "checks": {"database": "ok", "redis": "unreachable"}}


def test_readyz_is_503_when_the_database_is_unreachable(make_app, tmp_path):
    app = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none", REDIS_URL="")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "unreachable"
