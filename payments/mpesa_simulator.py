"""The demo's simulated M-Pesa — being written (issue 5)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("simulated_mpesa", __name__, url_prefix="/simulated/daraja")
SETTINGS: dict = {}
SECRETS: dict = {}


def base_url(public_url: str) -> str:
    return public_url.rstrip("/") + "/simulated/daraja"
