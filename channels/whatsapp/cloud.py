"""The WhatsApp Cloud API webhook, read without Flask: signature, verification, payload.

heyoo reads only ``entry[0].changes[0].messages[0]`` and raises ``KeyError`` on anything else;
Meta batches, so this reads every entry, change, message and status, and skips what it cannot
read instead of failing the whole delivery (Meta would then redeliver all of it).
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timezone

from channels.messages import WHATSAPP, DeliveryReport, Incoming

PROVIDER = "whatsapp"
STATUSES = {"sent", "delivered", "read", "failed"}  # anything else Meta adds is skipped
# Incoming's fields by where a webhook carries them, for a clear error.
WIRE_NAMES = {"message_id": "messages[].id", "sender": "messages[].from",
              "to": "metadata.phone_number_id", "user_id": "contacts[].user_id",
              "text": "text.body", "choice": "interactive reply id",
              "name": "contacts[].profile.name"}


class BadWebhook(ValueError):
    """The body is not a WhatsApp webhook at all (the view answers 400)."""


def check_signature(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>``.

    Over the exact bytes received: re-serialised JSON differs (Meta escapes non-ASCII).
    """
    if not app_secret or not isinstance(header, str):
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.lower().encode())


def check_verification(args: Mapping, verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo when Meta subscribes with our verify token, else None."""
    token, challenge = args.get("hub.verify_token"), args.get("hub.challenge")
    if (not verify_token or args.get("hub.mode") != "subscribe"
            or not isinstance(token, str) or not isinstance(challenge, str)):
        return None
    return challenge if hmac.compare_digest(token.encode(), verify_token.encode()) else None


def parse_webhook(payload) -> tuple[list[Incoming], list[DeliveryReport]]:
    """Every message and status in a ``messages`` webhook, in the order Meta sent them."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise BadWebhook("not a WhatsApp webhook: no entry list")
    messages: list[Incoming] = []
    reports: list[DeliveryReport] = []
    for entry in _dicts(payload["entry"]):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue  # template status updates, account alerts, ...: not ours
            metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
            to = str(metadata.get("phone_number_id") or "")
            contacts = list(_dicts(value.get("contacts")))
            for message in _dicts(value.get("messages")):
                incoming = _incoming(message, contacts, to)
                if incoming is not None:
                    messages.append(incoming)
            for status in _dicts(value.get("statuses")):
                report = _report(status)
                if report is not None:
                    reports.append(report)
    return messages, reports


def _dicts(items):
    return (item for item in (items if isinstance(items, list) else []) if isinstance(item, dict))


def _contact_for(message: dict, contacts: list[dict]) -> dict:
    """The contact a message came from: by phone (``wa_id``), else by BSUID (``user_id``)."""
    keys = {str(message[k]) for k in ("from", "from_user_id", "user_id") if message.get(k)}
    for contact in contacts:
        if {str(contact.get("wa_id") or ""), str(contact.get("user_id") or "")} & keys:
            return contact
    # A change normally carries one contact and its messages; with several, guessing is wrong.
    return contacts[0] if len(contacts) == 1 and not keys else {}


def _incoming(message: dict, contacts: list[dict], to: str) -> Incoming | None:
    message_id = message.get("id")
    if not isinstance(message_id, str) or not message_id:
        return None  # no id, no deduplication: better dropped than applied twice
    contact = _contact_for(message, contacts)
    wa_id = str(contact.get("wa_id") or message.get("from") or "")
    profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
    fields = _content(message)
    return Incoming(
        provider=PROVIDER, channel=WHATSAPP, message_id=message_id,
        sender="+" + wa_id if wa_id.isdigit() else "", to=to,
        user_id=str(contact.get("user_id") or message.get("from_user_id") or ""),
        name=str(profile.get("name") or ""), received_at=_when(message.get("timestamp")),
        raw=message, **fields,
    )


def _content(message: dict) -> dict:
    """``kind`` and what goes with it, for each message type Duka understands."""
    kind = message.get("type")
    body = message.get(kind) if isinstance(kind, str) else None
    body = body if isinstance(body, dict) else {}
    if kind == "text":
        return {"kind": "text", "text": str(body.get("body") or "")}
    if kind == "interactive" and body.get("type") in ("button_reply", "list_reply"):
        reply = body.get(body["type"])
        if isinstance(reply, dict) and reply.get("id"):
            return {"kind": "choice", "choice": str(reply["id"]),
                    "text": str(reply.get("title") or "")}
    if kind == "button" and body.get("payload"):  # a template's quick-reply button
        return {"kind": "choice", "choice": str(body["payload"]),
                "text": str(body.get("text") or "")}
    if kind == "order":
        items = tuple(item for item in map(_order_item, _dicts(body.get("product_items")))
                      if item)
        return {"kind": "order", "order_items": items, "text": str(body.get("text") or "")}
    if kind == "location":
        try:
            where = (float(body["latitude"]), float(body["longitude"]))
        except (KeyError, TypeError, ValueError):
            return {"kind": "unsupported"}
        label = ", ".join(str(body[k]) for k in ("name", "address") if body.get(k))
        return {"kind": "location", "location": where, "text": label}
    return {"kind": "unsupported"}  # image, audio, sticker, reaction, unsupported, ...


def _order_item(item: dict) -> tuple[str, int] | None:
    try:
        return str(item["product_retailer_id"]), int(item["quantity"])
    except (KeyError, TypeError, ValueError):
        return None


def _when(timestamp) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(timestamp), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _report(status: dict) -> DeliveryReport | None:
    message_id, state = status.get("id"), status.get("status")
    if not isinstance(message_id, str) or not message_id or state not in STATUSES:
        return None
    error = ""
    errors = list(_dicts(status.get("errors")))
    if errors:
        first = errors[0]
        error = f"{first.get('code', '')}: {first.get('title') or first.get('message') or ''}"
    return DeliveryReport(provider=PROVIDER, message_id=message_id, status=state, error=error)
