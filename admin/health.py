"""Liveness and readiness for load balancers and orchestrators."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from admin.context import services

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready when the database answers and, if configured, Redis does too."""
    ctx = services()
    checks: dict[str, str] = {}
    try:
        with ctx.db() as db:
            db.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:
        log.error("readyz: database unreachable: %s", error)
        checks["database"] = "unreachable"
    if ctx.redis is None:
        checks["redis"] = "not configured (in-process sessions, inline jobs)"
    else:
        try:
            ctx.redis.ping()
            checks["redis"] = "ok"
        except Exception as error:
            log.error("readyz: redis unreachable: %s", error)
            checks["redis"] = "unreachable"
    ready = "unreachable" not in checks.values()
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503
