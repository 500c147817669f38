"""Africa's Talking SMS callbacks: messages to our short codes, and delivery reports.

AT does not sign its callbacks, so the callback URLs carry a secret, ``AT_CALLBACK_TOKEN``
(``/channels/sms/africastalking?token=...``, as configured in AT's dashboard): only AT, which
knows the URL, can post here. Wherever AT SMS is on (``AT_USERNAME`` and ``AT_API_KEY`` set),
the token is required: without it every callback is refused, and start-up logs why.
"""
from __future__ import annotations

import hmac
import logging

from flask import Blueprint, current_app, jsonify, request

from channels.context import services
from channels.inbound import TooLong, check_form_lengths, check_lengths, queue_handling
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
WIRE_NAMES = {"message_id": "id", "sender": "from", "to": "to", "text": "text"}
NO_TOKEN = ("AT_CALLBACK_TOKEN is not set: Africa's Talking SMS callbacks are refused (403) "
            "until it is. Set it, and add ?token=<it> to the SMS callback URLs in AT's "
            "dashboard.")


def _refused(code: str, message: str, status: int):
    return jsonify(error={"code": code, "message": message}), status


def at_sms_on(config) -> bool:
    return bool(config.get("AT_USERNAME") and config.get("AT_API_KEY"))


@bp.record_once
def _check_settings(state) -> None:
    # Said once at start-up, where the operator looks, rather than only in each 403.
    if at_sms_on(state.app.config) and not state.app.config.get("AT_CALLBACK_TOKEN"):
        log.error("configuration error: %s", NO_TOKEN)


def _token_refusal():
    """The 403 for a callback without the right token; ``None`` when it may be acted on."""
    expected = current_app.config.get("AT_CALLBACK_TOKEN")
    if not expected:
        if at_sms_on(current_app.config):
            return _refused("forbidden", "This server has no AT_CALLBACK_TOKEN set, so it "
                            "accepts no Africa's Talking callback.", 403)
        return None  # the demo without AT: nothing to protect, SMS go to the log
    if not hmac.compare_digest(request.args.get("token", "").encode(), expected.encode()):
        return _refused("forbidden", "This callback URL needs its token.", 403)
    return None


@bp.post("/channels/sms/africastalking")
def incoming_sms():
    refused = _token_refusal()
    if refused is not None:
        return refused
    form = request.form
    missing = [name for name in ("from", "to", "id") if not form.get(name)]
    if missing:
        return _refused("bad_request", f"Missing fields: {', '.join(missing)}.", 400)
    incoming = Incoming(provider="africastalking", channel=SMS, message_id=form["id"],
                        sender=form["from"].strip(), to=form["to"].strip(),
                        text=form.get("text", ""), raw=dict(form))
    try:
        check_form_lengths(form, long_fields=("text",))
        check_lengths(incoming, WIRE_NAMES)
    except TooLong as bad:
        return _refused("bad_request", str(bad), 400)
    ctx = services()
    with ctx.db() as db:
        fresh = queue_handling(db, incoming)
    return jsonify(status="accepted" if fresh else "duplicate"), 200


@bp.post("/channels/sms/africastalking/delivery")
def delivery_report():
    refused = _token_refusal()
    if refused is not None:
        return refused
    form = request.form
    if not form.get("id") or not form.get("status"):
        return _refused("bad_request", "Missing fields: id and status are required.", 400)
    try:
        check_form_lengths(form)
    except TooLong as bad:
        return _refused("bad_request", str(bad), 400)
    status = DELIVERY_STATUSES.get(form["status"])
    if status is None:
        log.warning("unknown AT delivery status %r for %s", form["status"][:40], form["id"])
        return jsonify(status="ignored"), 200
    report = DeliveryReport("africastalking", form["id"], status, form.get("failureReason", ""))
    with services().db() as db:
        known = record_delivery(db, report)
    return jsonify(status="recorded" if known else "ignored"), 200
