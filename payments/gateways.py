"""A store's payment gateways: which providers it takes, with its own credentials.

``check_*`` validate, ``do_*`` change and commit. Secrets go in sealed (``payments.secrets``)
and come out only as a ``GatewayConfig`` handed to a provider call — never to an API answer.
"""
from __future__ import annotations

import secrets as random_tokens

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.db import committing
from commerce.errors import DomainError, NotFound
from commerce.models import PaymentGateway, Store
from payments.base import GatewayConfig
from payments.registry import PROVIDERS, get_provider
from payments.secrets import EncryptionKeyMissing, SecretBox


class InvalidGateway(DomainError):
    code = "invalid_gateway"


class SimulationNotAllowed(DomainError):
    code = "simulation_not_allowed"


def callback_url(public_url: str, gateway: PaymentGateway) -> str:
    base = public_url.rstrip("/")
    if get_provider(gateway.provider).signed:
        return f"{base}/payments/{gateway.provider}/webhook"
    return f"{base}/payments/{gateway.provider}/callback/{gateway.callback_token}"


def config_for(gateway: PaymentGateway, box: SecretBox, public_url: str) -> GatewayConfig:
    return GatewayConfig(store_id=gateway.store_id, provider=gateway.provider,
                         settings=dict(gateway.settings or {}), secrets=box.open(gateway.secrets),
                         callback_url=callback_url(public_url, gateway),
                         simulated=gateway.simulated)


def get_gateway(session: Session, store_id: int, provider: str) -> PaymentGateway | None:
    return session.scalar(select(PaymentGateway).where(
        PaymentGateway.store_id == store_id, PaymentGateway.provider == provider))


def gateway_by_token(session: Session, provider: str, token: str) -> PaymentGateway | None:
    return session.scalar(select(PaymentGateway).where(
        PaymentGateway.provider == provider, PaymentGateway.callback_token == token))


def offered_methods(session: Session, store: Store, allow_simulated: bool) -> tuple[str, ...]:
    """The ways this store takes payment, in the order to offer them: its enabled providers
    (mobile money first, as shoppers expect), then cash on delivery if the store takes cash
    (``Store.accepts_cash``). A simulated gateway counts only on a demo server."""
    return methods_offered_by(session.scalars(select(PaymentGateway).where(
        PaymentGateway.store_id == store.id, PaymentGateway.enabled.is_(True))).all(),
        allow_simulated, store.accepts_cash)


def methods_offered_by(enabled, allow_simulated: bool, accepts_cash: bool) -> tuple[str, ...]:
    """``offered_methods`` given the store's enabled gateways (rows, or a storefront's) and
    whether it takes cash. May be empty: a store taking no cash and no gateway usable here."""
    usable = {gateway.provider for gateway in enabled
              if gateway.provider in PROVIDERS and (allow_simulated or not gateway.simulated)}
    online = tuple(name for name in PROVIDERS if name in usable)
    return (*online, "cod") if accepts_cash else online


def check_gateway(provider: str, settings: dict, secrets: dict, simulated: bool) -> None:
    if provider not in PROVIDERS:
        raise InvalidGateway(f"{provider!r} is not a payment provider we support "
                             f"({', '.join(sorted(PROVIDERS))}).")
    if simulated:
        if provider != "mpesa":
            raise InvalidGateway("Only M-Pesa can be simulated.")
        return
    spec = get_provider(provider)
    missing = [name for name in spec.settings_fields if not str(settings.get(name, "")).strip()]
    missing += [name for name in spec.secret_fields if not str(secrets.get(name, "")).strip()]
    if missing:
        raise InvalidGateway(f"{spec.label} needs {', '.join(missing)}.", missing=missing)
    allowed_settings = {*spec.settings_fields, *getattr(spec, "optional_settings_fields", ())}
    allowed_secrets = {*spec.secret_fields, *getattr(spec, "optional_secret_fields", ())}
    unknown = (set(settings) - allowed_settings) | (set(secrets) - allowed_secrets)
    if unknown:
        raise InvalidGateway(f"{spec.label} takes no {', '.join(sorted(unknown))}.")


def do_configure_gateway(session: Session, store: Store, box: SecretBox, provider: str,
                         settings: dict | None = None, secrets: dict | None = None,
                         enabled: bool = True, simulated: bool = False,
                         keep_secrets: bool = False) -> PaymentGateway:
    """Add or replace a store's account at ``provider``; commits. The callback token is kept
    across updates (the provider has it registered) and made once, unguessable.

    ``keep_secrets``: a secret not given keeps its stored value, so a setting can change
    without typing every key again (``""`` removes an optional one). Stored secrets that do not
    open with ``box`` (sealed with another ``DUKA_ENCRYPTION_KEY``) are not kept: the given
    ones must then be complete."""
    settings, secrets = dict(settings or {}), dict(secrets or {})
    if keep_secrets:
        existing = get_gateway(session, store.id, provider)
        try:
            kept = box.open(existing.secrets) if existing is not None else {}
        except EncryptionKeyMissing:
            kept = {}
        secrets = {**kept, **secrets}
    check_gateway(provider, settings, secrets, simulated)
    with committing(session):
        gateway = get_gateway(session, store.id, provider)
        if gateway is None:
            gateway = PaymentGateway(store_id=store.id, provider=provider,
                                     callback_token=random_tokens.token_urlsafe(24))
            session.add(gateway)
        gateway.settings, gateway.secrets = settings, box.seal(secrets)
        gateway.enabled, gateway.simulated = enabled, simulated
    return gateway


def find_gateway(session: Session, store_id: int, provider: str) -> PaymentGateway:
    gateway = get_gateway(session, store_id, provider)
    if gateway is None:
        raise NotFound(f"This store has no {provider} gateway.")
    return gateway


def do_enable_gateway(session: Session, store: Store, box: SecretBox,
                      provider: str) -> PaymentGateway:
    """Offer a configured gateway at checkout again; commits. What is stored is checked as
    ``do_configure_gateway`` checks it, so a gateway missing a credential is not switched on
    (and secrets sealed with another ``DUKA_ENCRYPTION_KEY`` are refused, not used)."""
    gateway = find_gateway(session, store.id, provider)
    check_gateway(provider, dict(gateway.settings or {}), box.open(gateway.secrets),
                  gateway.simulated)
    with committing(session):
        gateway.enabled = True
    return gateway


def do_disable_gateway(session: Session, store: Store, provider: str) -> PaymentGateway:
    """Stop offering a gateway at checkout; its settings and secrets are kept. Commits."""
    gateway = find_gateway(session, store.id, provider)
    with committing(session):
        gateway.enabled = False
    return gateway
