"""What the channel endpoints and jobs need from the running app, set once by ``create_app``."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy.orm import sessionmaker

from channels.ratelimit import InProcessRateLimiter, RateLimiter
from channels.sessions import SessionStore
from channels.messages import MessageSender
from commerce.jobs import JobQueue
from commerce.stores import ChannelRoutes

KEY = "duka.channels"


@dataclass
class ChannelServices:
    db: sessionmaker
    jobs: JobQueue
    sessions: SessionStore
    # Who sends for each provider name ("africastalking", "twilio", "whatsapp", "log"); a
    # provider without credentials has no sender, and its channel is off.
    senders: dict[str, MessageSender]
    sms_provider: str = "log"  # who sends SMS notifications: africastalking | twilio | log
    sms_from: str | None = None  # AT sender id, or the Twilio number SMS notifications come from
    public_url: str = "http://127.0.0.1:5000"  # as providers see us: Twilio signs this URL
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    twilio_auth_token: str | None = None
    chat_session_ttl: int = 24 * 3600  # SMS and WhatsApp conversations: a day, like the window
    ussd_session_ttl: int = 300  # AT drops a session after 180 s; keep it a little longer
    ratelimit: RateLimiter = field(default_factory=InProcessRateLimiter)
    ussd_hops_per_minute: int = 60  # per phone (setting USSD_HOPS_PER_MINUTE)
    routes: ChannelRoutes = field(default_factory=ChannelRoutes)  # address -> store, cached


def init_app(app: Flask, services: ChannelServices) -> None:
    app.extensions[KEY] = services


def services() -> ChannelServices:
    return current_app.extensions[KEY]
