"""Tables the channels keep for themselves (not the shop's): USSD end-of-session reports."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from commerce.db import Base, UtcDateTime, utcnow

SESSION_END_STATUSES = ("Success", "Incomplete", "Failed")


class UssdSessionEnd(Base):
    """Africa's Talking's notification that a USSD session ended, kept for analytics.

    ``status``: ``Success`` (our ``END`` was reached), ``Incomplete`` (the shopper cancelled or
    timed out on a ``CON`` screen), ``Failed`` (AT got an error from us; see ``error_message``).
    One row per session: AT may send the same notification again.
    """

    __tablename__ = "ussd_session_ends"
    __table_args__ = (
        CheckConstraint("status IN ('Success', 'Incomplete', 'Failed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(100), unique=True)
    service_code: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(32), index=True)  # E.164 when it parses as such
    network_code: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    hops: Mapped[int | None] = mapped_column(Integer)
    input: Mapped[str | None] = mapped_column(Text)  # every input of the session, joined by *
    last_screen: Mapped[str | None] = mapped_column(Text)  # AT's lastAppResponse
    error_message: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[str | None] = mapped_column(String(32))  # as AT writes it: "KES 0.0500"
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
