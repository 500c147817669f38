"""The WhatsApp Cloud API webhook: verification (GET) and messages and statuses (POST).

A POST must carry ``X-Hub-Signature-256``, the HMAC-SHA256 of the raw body with the app
secret. Every message and status of a batch is taken; the answer comes at once and the
replies are made by jobs.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, jsonify, request

from channels.context import services
from channels.inbound import TooLong, check_lengths, queue_handling
from channels.outbound import record_delivery
from channels.whatsapp import cloud

log = logging.getLogger(__name__)
bp = Blueprint("whatsapp", __name__)


def _refused(code: str, message: str, status: int):
    return jsonify(error={"code": code, "message": message}), status


@bp.get("/channels/whatsapp")
def verify():
    token = services().whatsapp_verify_token
    if not token:
        return _refused("channel_off", "WhatsApp is not configured on this server.", 404)
    challenge = cloud.check_verification(request.args, token)
    if challenge is None:
        return _refused("forbidden", "The verify token does not match.", 403)
    return Response(challenge, 200, mimetype="text/plain")


@bp.post("/channels/whatsapp")
def webhook():
    ctx = services()
    if not ctx.whatsapp_app_secret:
        return _refused("channel_off", "WhatsApp is not configured on this server.", 404)
    raw = request.get_data()  # the exact bytes Meta signed, before any parsing
    if not cloud.check_signature(ctx.whatsapp_app_secret, raw,
                                 request.headers.get("X-Hub-Signature-256")):
        return _refused("bad_signature", "The X-Hub-Signature-256 does not match.", 403)
    try:
        messages, statuses = cloud.parse_webhook(json.loads(raw))
    except (ValueError, cloud.BadWebhook) as bad:
        return _refused("bad_request", f"Not a WhatsApp webhook: {bad}", 400)
    try:  # one field too long refuses the whole batch: none of it is recorded
        for incoming in messages:
            check_lengths(incoming, cloud.WIRE_NAMES)
    except TooLong as bad:
        return _refused("bad_request", str(bad), 400)
    accepted = 0
    with ctx.db() as db:
        for incoming in messages:
            accepted += queue_handling(db, incoming)
        for report in statuses:
            record_delivery(db, report)
    return jsonify(status="ok", messages=accepted, statuses=len(statuses)), 200
