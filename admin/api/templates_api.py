"""Message templates: the wording of each notification (order received, payment, shipped, ...)
in each language the store offers, the default or the merchant's own.

The wording, its checks (placeholders, length) and its use live in the channels
(``channels.templates``). Admin may not import channels (DESIGN §1), so ``create_app`` hands the
channels' modules in under ``app.extensions[CHANNELS]``, as it does their timed jobs.
"""
from __future__ import annotations

from flask import current_app
from pydantic import BaseModel, Field

from admin.api.errors import ApiError
from admin.api.pages import Body
from admin.api.routing import endpoint

# app.extensions key: a namespace with the channels' ``templates``, ``broadcasts`` and ``models``
# modules (set by create_app).
CHANNELS = "duka.messaging"
TEMPLATE = "/message-templates/<name>/<locale>"


def channels():
    return current_app.extensions[CHANNELS]


class TemplateOut(BaseModel):
    name: str = Field(description="The notification: order.placed, payment.completed, ...")
    locale: str
    body: str = Field(description="The text the reader gets: the merchant's, or the default "
                                  "in that language.")
    customised: bool = Field(description="true: the merchant's own text; false: the default.")
    whatsapp_template: str | None = Field(description="The approved WhatsApp template (or "
                                                      "Twilio ContentSid) used outside the "
                                                      "24-hour window.")
    placeholders: list[str] = Field(description="What the text may use, each as {name}.")


class TemplateText(Body):
    """Checked by the shop: 1 to 1000 characters, only the notification's own placeholders
    (``{{`` and ``}}`` for a brace itself)."""

    body: str
    whatsapp_template: str | None = Field(None, description="Letters, digits and underscores "
                                                            "(or a Twilio ContentSid); null: "
                                                            "none, SMS outside the window.")


def template_out(view) -> dict:
    return TemplateOut.model_validate(view, from_attributes=True).model_dump(mode="json")


def _view(call, name: str, locale: str):
    for view in channels().templates.list_templates(call.db, call.store):
        if (view.name, view.locale) == (name, locale):
            return view
    raise ApiError(404, "not_found", "No such notification in a language this store offers.")


@endpoint("GET", "/message-templates", "messages:read",
          summary="Every notification's text in each of the store's languages",
          tag="message-templates", response=list[TemplateOut])
def list_templates(call):
    return [template_out(view)
            for view in channels().templates.list_templates(call.db, call.store)]


@endpoint("GET", TEMPLATE, "messages:read", summary="One notification's text in one language",
          tag="message-templates", response=TemplateOut)
def get_template(call, name: str, locale: str):
    return template_out(_view(call, name, locale))


@endpoint("PUT", TEMPLATE, "messages:write",
          summary="Set the store's own text for a notification in one language",
          tag="message-templates", body=TemplateText, response=TemplateOut)
def set_template(call, name: str, locale: str):
    _view(call, name, locale)  # an unknown notification or language is no resource: 404
    channels().templates.do_set_template(call.db, call.store, name, locale, call.body.body,
                                         call.body.whatsapp_template)
    return template_out(_view(call, name, locale))


@endpoint("DELETE", TEMPLATE, "messages:write",
          summary="Go back to the default text for a notification in one language",
          tag="message-templates", response=None, status=204)
def reset_template(call, name: str, locale: str):
    _view(call, name, locale)
    channels().templates.do_reset_template(call.db, call.store, name, locale)
    return None
