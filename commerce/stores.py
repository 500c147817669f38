"""Finding the store a channel address belongs to."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.models import ChannelAddress, Store


def normalise_service_code(code: str) -> str:
    return "".join(code.split())


def find_store_by_ussd_code(session: Session, service_code: str) -> Store | None:
    """The store a dedicated USSD code belongs to."""
    code = normalise_service_code(service_code)
    return session.scalar(
        select(Store).join(ChannelAddress, ChannelAddress.store_id == Store.id)
        .where(ChannelAddress.channel == "ussd", ChannelAddress.address == code,
               ChannelAddress.selector == "")
    )
