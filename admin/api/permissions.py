"""Roles and what they may do. Every endpoint names the one permission it needs."""
from __future__ import annotations

RESOURCES = ("store", "products", "inventory", "customers", "carts", "orders", "payments",
             "shipping", "discounts", "channels", "gateways", "staff", "webhooks", "reports",
             "messages")  # messages: notification wording and broadcasts
PERMISSIONS = tuple(f"{resource}:{access}" for resource in RESOURCES
                    for access in ("read", "write"))

_EVERYTHING = set(PERMISSIONS)
_READ_ALL = {p for p in PERMISSIONS if p.endswith(":read")}

ROLES: dict[str, frozenset[str]] = {
    # The owner: everything, including who else may sign in.
    "owner": frozenset(_EVERYTHING),
    # Runs the shop day to day; cannot change staff or payment credentials.
    "manager": frozenset(_EVERYTHING - {"staff:write", "gateways:write"}),
    # At the counter: sells, packs and restocks; reads the catalog.
    "staff": frozenset({"products:read", "inventory:read", "inventory:write", "customers:read",
                        "carts:read", "orders:read", "orders:write", "payments:read",
                        "shipping:read", "discounts:read", "store:read", "messages:read"}),
    # Looks, changes nothing (an accountant, say); no staff list, no webhook secrets.
    "viewer": frozenset(_READ_ALL - {"staff:read", "webhooks:read"}),
}


def permissions_of(role: str) -> frozenset[str]:
    return ROLES.get(role, frozenset())
