"""The store's payment gateways: its own M-Pesa till, MoMo, Paystack or Flutterwave account.

Secrets are write-only: they go in sealed with the store's ``SecretBox`` and no answer ever
carries them, only which of them are set. The callback URL the provider must call is shown.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from flask import current_app
from pydantic import BaseModel, Field
from sqlalchemy import select

from admin.api.errors import ApiError
from admin.api.pages import NO_NUL, Body
from admin.api.routing import endpoint
from commerce.models import PaymentGateway
from payments import gateways
from payments.registry import PROVIDERS, get_provider
from payments.secrets import EncryptionKeyMissing

Key = Annotated[str, Field(min_length=1, max_length=60, pattern=NO_NUL)]
Value = Annotated[str, Field(max_length=500, pattern=NO_NUL)]


class ProviderOut(BaseModel):
    name: str
    label: str
    settings_fields: list[str]
    optional_settings_fields: list[str]
    secret_fields: list[str]
    optional_secret_fields: list[str]


class GatewayOut(BaseModel):
    provider: str
    label: str
    enabled: bool
    simulated: bool = Field(description="The demo's pretend M-Pesa: no real money.")
    settings: dict[str, str]
    secrets_set: dict[str, bool] = Field(description="Which secrets are stored (never their "
                                                     "values).")
    secrets_readable: bool = Field(description="false: the stored secrets do not open with "
                                               "this server's DUKA_ENCRYPTION_KEY.")
    callback_url: str = Field(description="Register this with the provider.")
    created_at: datetime
    updated_at: datetime


class GatewaySetup(Body):
    """Settings replace the stored ones. A secret left out keeps its stored value, so a
    setting can change without typing every key again; "" removes an optional one."""

    settings: dict[Key, Value] = Field(default_factory=dict, max_length=20)
    secrets: dict[Key, Value] = Field(default_factory=dict, max_length=20)
    enabled: bool = True


def _payments():
    return current_app.extensions["duka.payments"]


def _spec(provider: str):
    if provider not in PROVIDERS:
        raise ApiError(404, "not_found", f"No payment provider is called {provider[:30]}.")
    return get_provider(provider)


def _secret_names(spec) -> list[str]:
    return [*spec.secret_fields, *getattr(spec, "optional_secret_fields", ())]


def gateway_out(gateway: PaymentGateway) -> dict:
    services = _payments()
    spec = get_provider(gateway.provider)
    try:
        stored, readable = services.secrets.open(gateway.secrets), True
    except EncryptionKeyMissing:
        stored, readable = {}, False
    return GatewayOut(
        provider=gateway.provider, label=spec.label, enabled=gateway.enabled,
        simulated=gateway.simulated,
        settings={name: str(value) for name, value in (gateway.settings or {}).items()},
        secrets_set={name: bool(str(stored.get(name, "")).strip())
                     for name in _secret_names(spec)},
        secrets_readable=readable,
        callback_url=gateways.callback_url(services.public_url, gateway),
        created_at=gateway.created_at, updated_at=gateway.updated_at,
    ).model_dump(mode="json")


def _gateway(call, provider: str) -> PaymentGateway:
    _spec(provider)
    return gateways.find_gateway(call.db, call.store_id, provider)


@endpoint("GET", "/gateway-providers", "gateways:read",
          summary="The payment providers a store can connect", tag="gateways",
          response=list[ProviderOut])
def list_providers(call):
    return [ProviderOut(name=name, label=spec.label, settings_fields=list(spec.settings_fields),
                        optional_settings_fields=list(getattr(spec, "optional_settings_fields",
                                                              ())),
                        secret_fields=list(spec.secret_fields),
                        optional_secret_fields=list(getattr(spec, "optional_secret_fields", ())),
                        ).model_dump(mode="json") for name, spec in sorted(PROVIDERS.items())]


@endpoint("GET", "/gateways", "gateways:read", summary="The store's payment gateways",
          tag="gateways", response=list[GatewayOut])
def list_gateways(call):
    rows = call.db.scalars(select(PaymentGateway).where(
        PaymentGateway.store_id == call.store_id, PaymentGateway.provider.in_(list(PROVIDERS)))
        .order_by(PaymentGateway.id))
    return [gateway_out(row) for row in rows]


@endpoint("GET", "/gateways/<provider>", "gateways:read", summary="One payment gateway",
          tag="gateways", response=GatewayOut)
def get_gateway(call, provider: str):
    return gateway_out(_gateway(call, provider))


@endpoint("PUT", "/gateways/<provider>", "gateways:write",
          summary="Connect or reconfigure a payment gateway", tag="gateways", body=GatewaySetup,
          response=GatewayOut)
def configure_gateway(call, provider: str):
    _spec(provider)
    body = call.body
    gateway = gateways.do_configure_gateway(
        call.db, call.store, _payments().secrets, provider,
        {name: value.strip() for name, value in body.settings.items()},
        {name: value.strip() for name, value in body.secrets.items()},
        enabled=body.enabled, keep_secrets=True)
    return gateway_out(gateway)


@endpoint("POST", "/gateways/<provider>/enable", "gateways:write",
          summary="Offer a configured gateway at checkout", tag="gateways",
          response=GatewayOut)
def enable_gateway(call, provider: str):
    _spec(provider)
    return gateway_out(gateways.do_enable_gateway(call.db, call.store, _payments().secrets,
                                                  provider))


@endpoint("POST", "/gateways/<provider>/disable", "gateways:write",
          summary="Stop offering a gateway at checkout", tag="gateways", response=GatewayOut)
def disable_gateway(call, provider: str):
    _spec(provider)
    return gateway_out(gateways.do_disable_gateway(call.db, call.store, provider))
