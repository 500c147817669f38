"""What the channel endpoints and jobs need from the running app, set once by ``create_app``."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy.orm import sessionmaker

from channels.ratelimit import InProcessRateLimiter, RateLimiter
from channels.sessions import SessionStore
from channels.sms import SmsSender
from commerce.jobs import JobQueue
from commerce.stores import ChannelRoutes

KEY = "duka.channels"


@dataclass
class ChannelServices:
    db: sessionmaker
    jobs: JobQueue
    sessions: SessionStore
    sms: SmsSender
    ussd_session_ttl: int = 300  # AT drops a session after 180 s; keep it a little longer
    ratelimit: RateLimiter = field(default_factory=InProcessRateLimiter)
    ussd_hops_per_minute: int = 60  # per phone (setting USSD_HOPS_PER_MINUTE)
    routes: ChannelRoutes = field(default_factory=ChannelRoutes)  # address -> store, cached


def init_app(app: Flask, services: ChannelServices) -> None:
    app.extensions[KEY] = services


def services() -> ChannelServices:
    return current_app.extensions[KEY]
