"""Picking up a dropped session: "Continue where you left off?" on the next dial.

While a shopper is mid-journey, each hop also saves where they are (dialog state and page) under
their store and E.164 phone, not under AT's session id, which changes when a session times out.
A session that ends with ``END``, or whose shopper is back on the home menu, deletes that
record; otherwise it lives ``RESUME_WINDOW`` seconds after the last hop. Redialling the store in
that window (with nothing pre-filled in the dial string) asks whether to continue: ``1`` brings
back the same screen, ``2`` starts at home. The cart needs no saving here: it is in the
database. The record names its AT session, so a late notification about an older session
cannot drop it.
"""
from __future__ import annotations

from channels.sessions import SessionStore
from dialogs import Choice, Reply, text
from dialogs.i18n import translate

RESUME_WINDOW = 10 * 60  # seconds after a dropped session's last hop that it can be resumed
YES, NO = "1", "2"


def question(locale: str, again: bool = False) -> Reply:
    """"Continue where you left off?" in the shopper's language (``again``: after a wrong key)."""
    def t(message: str) -> str:
        return translate(locale, message)

    ask = t(text.CONTINUE_QUESTION)
    return Reply(f"{t(text.PICK_FROM_LIST)}\n{ask}" if again else ask,
                 (Choice("resume:yes", t(text.YES)), Choice("resume:no", t(text.NO))),
                 can_go_back=False)


def resume_key(store_id: int, phone: str) -> str:
    return f"ussd:resume:{store_id}:{phone}"


def remember(sessions: SessionStore, store_id: int, phone: str, saved: dict,
             session_id: str) -> None:
    """Where the shopper is now, should this session (AT's ``session_id``) drop."""
    sessions.set(resume_key(store_id, phone),
                 {"dialog": saved["dialog"], "reply": saved["reply"], "page": saved["page"],
                  "picked": saved.get("picked", []), "session": session_id},
                 RESUME_WINDOW)


def recall(sessions: SessionStore, store_id: int, phone: str) -> dict | None:
    return sessions.get(resume_key(store_id, phone))


def forget(sessions: SessionStore, store_id: int, phone: str,
           session_id: str | None = None) -> None:
    """Drop the record; with ``session_id``, only if it is that session's: a late notification
    about an old session must not drop the record of the shopper's newer one."""
    key = resume_key(store_id, phone)
    if session_id is not None:
        left = sessions.get(key)
        # A record without an id was written before ids were kept; it is the only one we have.
        if left is None or left.get("session", session_id) != session_id:
            return
    sessions.delete(key)
