"""What the admin endpoints and commands need from the running app, set once by ``create_app``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask import Flask, current_app
from sqlalchemy.orm import sessionmaker

KEY = "duka.admin"


@dataclass
class AdminServices:
    db: sessionmaker
    database_url: str
    redis: object | None  # a redis.Redis, or None in the embedded default
    ratelimit: object = None  # a fixed-window limiter: ``hit(key, limit, window) -> bool``
    codes: object = None  # sign-in codes with a TTL: ``get``, ``set(key, value, ttl)``, ``delete``
    # Sends an SMS (the sign-in code) for a store: create_app hands in the channels' sender.
    send_sms: Callable[[int, str, str], None] = field(default=lambda store_id, phone, text: None)
    api_requests_per_minute: int = 600  # per client address, and per token or key


def init_app(app: Flask, services: AdminServices) -> None:
    app.extensions[KEY] = services


def services() -> AdminServices:
    return current_app.extensions[KEY]
