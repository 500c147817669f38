"""Where shoppers reach the store: USSD codes (dedicated, or shared with a store number), SMS
short codes with a keyword (or a number of its own), WhatsApp phone-number ids.

An address leads to one store only, so one already in use anywhere is a 409. Channels cache
which store an address leads to for ``commerce.stores.ROUTES_TTL`` seconds: a change is live
within that long.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from admin.api.pages import Body
from admin.api.routing import endpoint
from commerce import stores
from commerce.models import ChannelAddress

Channel = Literal["ussd", "sms", "whatsapp"]


class ChannelAddressOut(BaseModel):
    id: int
    channel: Channel
    address: str = Field(description="USSD service code, SMS short code or number, or "
                                     "WhatsApp phone-number id.")
    selector: str = Field(description="The store number on a shared USSD code, or the SMS "
                                      "keyword; \"\" when the address is the store's alone.")
    dedicated: bool
    reach: str = Field(description="What a shopper does to reach the store.")


class NewChannelAddress(Body):
    channel: Channel
    address: str = Field(min_length=1, max_length=60)
    selector: str = Field("", max_length=30, description="USSD: the store number on a shared "
                                                         "code. SMS: the keyword. Else \"\".")


def _reach(row: ChannelAddress) -> str:
    if row.channel == "ussd":
        code = row.address if not row.selector else f"{row.address[:-1]}*{row.selector}#"
        return f"Dial {code}"
    if row.channel == "sms":
        return f"Text {row.selector} to {row.address}" if row.selector \
            else f"Text {row.address}"
    return f"WhatsApp the number with id {row.address}"


def address_out(row: ChannelAddress) -> dict:
    return ChannelAddressOut(id=row.id, channel=row.channel, address=row.address,
                             selector=row.selector, dedicated=row.selector == "",
                             reach=_reach(row)).model_dump(mode="json")


@endpoint("GET", "/channel-addresses", "channels:read",
          summary="Where shoppers reach the store", tag="channels",
          response=list[ChannelAddressOut])
def list_addresses(call):
    return [address_out(row) for row in stores.list_channel_addresses(call.db, call.store)]


@endpoint("POST", "/channel-addresses", "channels:write",
          summary="Add a USSD code, SMS short code or WhatsApp number", tag="channels",
          body=NewChannelAddress, response=ChannelAddressOut, status=201)
def add_address(call):
    body = call.body
    row = stores.do_add_channel_address(call.db, call.store, body.channel, body.address,
                                        body.selector)
    return address_out(row)


@endpoint("DELETE", "/channel-addresses/<int:address_id>", "channels:write",
          summary="Stop answering on an address", tag="channels", response=None, status=204)
def remove_address(call, address_id: int):
    stores.do_remove_channel_address(call.db, call.store, address_id)
