"""The API's one error shape: ``{"error": {"code", "message", "details"}}`` with a 4xx status.

Domain errors from the commerce core become 404 (not found: including another store's ids),
409 (a conflict with the current state) or 422 (a value the core refused).
"""
from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from commerce.errors import DomainError

CONFLICTS = {"invalid_transition", "duplicate_sku", "catalog_conflict", "category_not_empty",
             "tracking_number_in_use", "address_taken", "channel_address_taken",
             "refund_exceeds_payment", "out_of_stock", "price_changed", "not_a_draft",
             "name_taken", "code_taken", "webhook_exists", "too_many_webhooks",
             "broadcast_finished"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict | list | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details if details is not None else {}
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, details=None, headers=None):
    response = jsonify(error={"code": code, "message": message,
                              "details": details if details is not None else {}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def from_domain(error: DomainError) -> ApiError:
    status = 404 if error.code == "not_found" else 409 if error.code in CONFLICTS else 422
    details = {k: v for k, v in error.details.items() if isinstance(v, (str, int, float, bool))}
    return ApiError(status, error.code, error.message, details)


def register(app: Flask, prefix: str) -> None:
    """JSON errors for everything under ``prefix``, Flask's own (404, 405, 413) included."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error_response(error.status, error.code, error.message, error.details,
                              error.headers)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        from flask import request

        if not request.path.startswith(prefix):
            return error
        code = {404: "not_found", 405: "method_not_allowed",
                413: "too_large"}.get(error.code, "bad_request")
        message = {413: "The request body is too large."}.get(error.code, error.description)
        return error_response(error.code or 400, code, message)
