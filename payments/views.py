"""Provider callbacks: ``/payments/<provider>/callback/<token>`` for the unsigned (M-Pesa,
MoMo: the token names the store) and ``/payments/<provider>/webhook`` for the signed (Paystack,
Flutterwave: the payment the body names gives the store, whose key checks the signature).

Whatever arrives, the answer is what the provider expects or a 4xx JSON error, never a 500,
and a callback changes at most one payment, once (``payments.service.do_apply_outcome``).
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, jsonify, request

from payments import service
from payments.base import BadCallback, CallbackRequest, Provider, ProviderUnavailable
from payments.context import services
from payments.gateways import gateway_by_token, get_gateway
from payments.jobs import provider_call
from payments.registry import PROVIDERS

log = logging.getLogger(__name__)

bp = Blueprint("payments", __name__, url_prefix="/payments")

MAX_CALLBACK_BYTES = 64 * 1024  # providers' callbacks are a few KB


def error(code: str, message: str, status: int):
    return jsonify({"error": {"code": code, "message": message}}), status


def read_callback() -> CallbackRequest:
    if (request.content_length or 0) > MAX_CALLBACK_BYTES:
        raise BadCallback("The body is too large.")
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw)
    except ValueError as problem:
        raise BadCallback("The body is not JSON.") from problem
    if not isinstance(body, dict):
        raise BadCallback("The body is not a JSON object.")
    return CallbackRequest(raw_body=raw, body=body, headers=dict(request.headers))


def _provider(name: str, signed: bool) -> Provider | None:
    spec = PROVIDERS.get(name)
    return spec if spec is not None and spec.signed == signed else None


@bp.route("/<provider>/callback/<token>", methods=["POST", "PUT"])  # MoMo may PUT
def token_callback(provider: str, token: str):
    spec = _provider(provider, signed=False)
    if spec is None:
        return error("not_found", "No such callback.", 404)
    ctx = services()
    with ctx.db() as session:
        row = gateway_by_token(session, provider, token)
        if row is None:
            log.warning("%s callback with an unknown token", provider)
            return error("not_found", "No such callback.", 404)
        try:
            return _apply(ctx, session, spec, row, read_callback())
        except BadCallback as problem:
            return error("bad_callback", str(problem), 400)


@bp.post("/<provider>/webhook")
def signed_webhook(provider: str):
    spec = _provider(provider, signed=True)
    if spec is None:
        return error("not_found", "No such webhook.", 404)
    ctx = services()
    with ctx.db() as session:
        try:
            callback = read_callback()
            reference = spec.callback_reference(callback)
        except BadCallback as problem:
            return error("bad_callback", str(problem), 400)
        payment = service.find_payment(session, provider, reference) if reference else None
        row = payment and get_gateway(session, payment.store_id, provider)
        if row is None:  # not ours, or a payment we never asked for: nothing to verify with
            log.info("%s webhook for an unknown reference %r ignored", provider, reference)
            body, status = spec.acknowledge(None)
            return jsonify(body), status
        _, config = provider_call(ctx, row)
        if not spec.verify_callback(config, callback):
            log.warning("%s webhook with a bad signature for payment %s", provider, payment.id)
            return error("bad_signature", "The signature does not match.", 401)
        try:
            return _apply(ctx, session, spec, row, callback)
        except BadCallback as problem:
            return error("bad_callback", str(problem), 400)


def _apply(ctx, session, spec: Provider, row, callback: CallbackRequest):
    env, config = provider_call(ctx, row)
    try:
        outcome = spec.parse_callback(env, config, callback)
    except ProviderUnavailable:  # confirming with the provider failed: let it call again
        return error("unavailable", "Please try again later.", 503)
    if outcome is not None:
        payment = service.find_payment(session, spec.name, outcome.provider_reference)
        matched = 0
        if payment is None:  # perhaps a request whose answer was lost (service.do_initiate)
            payment, matched = service.claim_unanswered(session, row.store_id, spec.name,
                                                        outcome)
        if matched > 1:  # money taken for one of several like payments: a person decides
            log.warning("%s callback %s matches several unanswered payments of store %s",
                        spec.name, outcome.provider_reference, row.store_id)
            service.do_record_callback(
                session, spec.name, outcome.dedup_key or f"unknown:{outcome.provider_reference}",
                "flagged", "matches several payments whose answer was lost: settle by hand",
                callback.body, store_id=row.store_id)
        elif payment is None or payment.store_id != row.store_id:
            service.do_record_callback(
                session, spec.name, outcome.dedup_key or f"unknown:{outcome.provider_reference}",
                "ignored", "names no payment of this store", callback.body, store_id=row.store_id)
        else:
            result = service.do_apply_outcome(session, payment.id, outcome, payload=callback.body)
            log.info("%s callback for payment %s: %s", spec.name, payment.id, result)
    body, status = spec.acknowledge(outcome)
    return jsonify(body), status
