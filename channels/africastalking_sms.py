"""Africa's Talking SMS callbacks: messages to our short codes, and delivery reports.

AT does not sign its callbacks. When ``AT_CALLBACK_TOKEN`` is set, the callback URLs must carry
it (``/channels/sms/africastalking?token=...``, as configured in AT's dashboard): a request
without it is refused, so only AT (which knows the URL) can post here.
"""
from __future__ import annotations

import hmac
import logging

from flask import Blueprint, current_app, jsonify, request

from channels.context import services
from channels.inbound import queue_handling
from channels.messages import SMS, DeliveryReport, Incoming
from channels.outbound import record_delivery

log = logging.getLogger(__name__)
bp = Blueprint("sms_africastalking", __name__)

# AT's delivery statuses (final ones starred in its docs) in our words.
DELIVERY_STATUSES = {
    "Sent": "sent", "Submitted": "sent", "Buffered": "sent", "Success": "delivered",
    "Rejected": "failed", "Failed": "failed", "AbsentSubscriber": "undelivered",
    "Expired": "undelivered",
}


def _refused(code: str, message: str, status: int):
    return jsonify(error={"code": code, "message": message}), status


def _token_ok() -> bool:
    expected = current_app.config.get("AT_CALLBACK_TOKEN")
    return not expected or hmac.compare_digest(request.args.get("token", ""), expected)


@bp.post("/channels/sms/africastalking")
def incoming_sms():
    if not _token_ok():
        return _refused("forbidden", "This callback URL needs its token.", 403)
    form = request.form
    missing = [name for name in ("from", "to", "id") if not form.get(name)]
    if missing:
        return _refused("bad_request", f"Missing fields: {', '.join(missing)}.", 400)
    incoming = Incoming(provider="africastalking", channel=SMS, message_id=form["id"],
                        sender=form["from"].strip(), to=form["to"].strip(),
                        text=form.get("text", ""), raw=dict(form))
    ctx = services()
    with ctx.db() as db:
        fresh = queue_handling(db, incoming)
    return jsonify(status="accepted" if fresh else "duplicate"), 200


@bp.post("/channels/sms/africastalking/delivery")
def delivery_report():
    if not _token_ok():
        return _refused("forbidden", "This callback URL needs its token.", 403)
    form = request.form
    if not form.get("id") or not form.get("status"):
        return _refused("bad_request", "Missing fields: id and status are required.", 400)
    status = DELIVERY_STATUSES.get(form["status"])
    if status is None:
        log.warning("unknown AT delivery status %r for %s", form["status"], form["id"])
        return jsonify(status="ignored"), 200
    report = DeliveryReport("africastalking", form["id"], status, form.get("failureReason", ""))
    with services().db() as db:
        known = record_delivery(db, report)
    return jsonify(status="recorded" if known else "ignored"), 200
