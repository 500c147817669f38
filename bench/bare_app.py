"""A bare Flask USSD endpoint: the ceiling ``bench/ussd_load.py`` compares Duka against.

    gunicorn --chdir bench -w 2 -k gthread --threads 8 bare_app:app

It answers the same URL as Duka's Africa's Talking callback, reads the same form fields (so the
framework's form parsing is in the baseline) and returns a constant ``CON`` menu: no database,
no Redis, no dialog. ``GET /healthz`` answers like Duka's.
"""
from __future__ import annotations

from flask import Flask, Response, jsonify, request

REQUIRED_FIELDS = ("sessionId", "serviceCode", "phoneNumber", "text")
MENU = "CON Karibu Mama Mboga Fresh!\n1. Shop\n2. My cart"

app = Flask(__name__)


def unreadable(form) -> Response | None:
    """The 400 screen for a form without Africa's Talking's fields (None if it has them)."""
    if any(field not in form for field in REQUIRED_FIELDS):
        return Response("END Sorry, this request could not be read. Please dial again.",
                        status=400, mimetype="text/plain")
    return None


@app.post("/channels/ussd/africastalking")
def africastalking_hop() -> Response:
    return unreadable(request.form) or Response(MENU, mimetype="text/plain")


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
