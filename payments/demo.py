"""How the ``demo`` command takes M-Pesa: Daraja's sandbox when the environment holds sandbox
credentials, otherwise the simulated M-Pesa (``payments.mpesa_simulator``), which never
touches real money and only a demo server will use."""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from commerce.models import Store
from payments.context import DEFAULT_BASE_URLS, PaymentServices
from payments.gateways import do_configure_gateway
from payments.secrets import EncryptionKeyMissing

CREDENTIALS = ("MPESA_CONSUMER_KEY", "MPESA_CONSUMER_SECRET", "MPESA_SHORTCODE", "MPESA_PASSKEY")


class DemoPaymentsError(Exception):
    """The demo cannot set up M-Pesa as asked; the message says what to do."""


def configure_demo_payments(session: Session, store: Store, services: PaymentServices,
                            environ: Mapping[str, str]) -> str:
    """Give the demo store an M-Pesa gateway; returns one line for the console."""
    given = [name for name in CREDENTIALS if environ.get(name, "").strip()]
    if given and len(given) < len(CREDENTIALS):
        missing = ", ".join(name for name in CREDENTIALS if name not in given)
        raise DemoPaymentsError(f"M-Pesa sandbox needs {missing} as well (or none of them, "
                                "for the simulated M-Pesa).")
    if not given:
        do_configure_gateway(session, store, services.secrets, "mpesa", simulated=True)
        services.allow_simulated = True
        return ("M-Pesa: SIMULATED (no real money): every prompt is paid by a pretend shopper "
                "a few seconds later. Set MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET, "
                "MPESA_SHORTCODE and MPESA_PASSKEY to use Daraja's sandbox.")
    shortcode = environ["MPESA_SHORTCODE"].strip()
    try:
        do_configure_gateway(
            session, store, services.secrets, "mpesa", settings={"shortcode": shortcode},
            secrets={"consumer_key": environ["MPESA_CONSUMER_KEY"].strip(),
                     "consumer_secret": environ["MPESA_CONSUMER_SECRET"].strip(),
                     "passkey": environ["MPESA_PASSKEY"].strip()})
    except EncryptionKeyMissing as problem:
        raise DemoPaymentsError(
            "Set DUKA_ENCRYPTION_KEY to keep the M-Pesa credentials (make one with: python -c "
            "\"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\")."
        ) from problem
    base_url = services.base_urls.get("mpesa") or DEFAULT_BASE_URLS["mpesa"]
    where = "Daraja sandbox" if "sandbox.safaricom.co.ke" in base_url else f"Daraja at {base_url}"
    return (f"M-Pesa: {where}, shortcode {shortcode}; Daraja calls back to "
            f"{services.public_url} (it must be reachable from the internet).")
