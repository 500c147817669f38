"""Twilio's webhooks: SMS and WhatsApp messages in, and the status of messages we sent.

Every request must carry a valid ``X-Twilio-Signature`` over the URL Twilio called. Behind a
proxy the app sees ``http://`` where Twilio signed ``https://``, so the URL is rebuilt from
``PUBLIC_BASE_URL`` rather than taken from the request.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from channels.context import services
from channels.inbound import TooLong, check_form_lengths, check_lengths, queue_handling
from channels.outbound import record_delivery
from channels.twilio import wire

bp = Blueprint("twilio", __name__)


def _refused(code: str, message: str, status: int):
    return jsonify(error={"code": code, "message": message}), status


def _check():
    """An error answer for a request we must not act on; ``None`` for a genuine one."""
    ctx = services()
    if not ctx.twilio_auth_token or "twilio" not in ctx.senders:
        return _refused("channel_off", "Twilio is not configured on this server.", 404)
    url = wire.public_url(ctx.public_url, request.full_path)
    if not wire.check_signature(ctx.twilio_auth_token, url, request.form,
                                request.headers.get("X-Twilio-Signature")):
        return _refused("bad_signature", "The X-Twilio-Signature does not match.", 403)
    return None


@bp.post("/channels/twilio")
def incoming_message():
    refused = _check()
    if refused is not None:
        return refused
    try:
        check_form_lengths(request.form, long_fields=wire.LONG_FIELDS)
        incoming = wire.parse_inbound(request.form)
        check_lengths(incoming, wire.WIRE_NAMES)
    except (wire.BadTwilioRequest, TooLong) as bad:
        return _refused("bad_request", str(bad), 400)
    with services().db() as db:
        queue_handling(db, incoming)
    # Answered now with no message: the reply goes out through the REST API from the job.
    return Response(wire.empty_twiml(), 200, mimetype="text/xml")


@bp.post("/channels/twilio/status")
def message_status():
    refused = _check()
    if refused is not None:
        return refused
    try:
        check_form_lengths(request.form, long_fields=wire.LONG_FIELDS)
    except TooLong as bad:
        return _refused("bad_request", str(bad), 400)
    try:
        report = wire.parse_status(request.form)
    except wire.BadTwilioRequest as bad:
        if request.form.get("MessageSid") and request.form.get("MessageStatus"):
            return jsonify(status="ignored"), 200  # a status we do not track (partially_...)
        return _refused("bad_request", str(bad), 400)
    with services().db() as db:
        known = record_delivery(db, report)
    return jsonify(status="recorded" if known else "ignored"), 200
