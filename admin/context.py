"""What the admin endpoints and commands need from the running app, set once by ``create_app``."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy.orm import sessionmaker

KEY = "duka.admin"


@dataclass
class AdminServices:
    db: sessionmaker
    database_url: str
    redis: object | None  # a redis.Redis, or None in the embedded default


def init_app(app: Flask, services: AdminServices) -> None:
    app.extensions[KEY] = services


def services() -> AdminServices:
    return current_app.extensions[KEY]
