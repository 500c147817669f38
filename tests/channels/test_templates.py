"""Merchants word their notifications per language; a bad text is refused and changes nothing."""
import pytest
from sqlalchemy import func, select

from channels import templates
from channels.models import MessageTemplate
from channels.templates import InvalidTemplate

VALUES = {"store": "Mama Mboga Fresh", "number": 1001, "items": "2x Tomatoes 1kg",
          "total": "KSh 240.00", "payment": "", "help": "Help: +254700123456"}


def test_the_default_reads_well_with_empty_parts_left_out(db, store):
    text, row = templates.render_notification(db, store, "order.placed", "en", VALUES)
    assert row is None
    assert text == ("Mama Mboga Fresh: order #1001 received. 2x Tomatoes 1kg. Total KSh 240.00. "
                    "Help: +254700123456")
    assert len(text) <= 160


def test_a_merchants_text_replaces_the_default_in_its_language_only(db, store):
    templates.do_set_template(db, store, "order.placed", "sw",
                              "  Asante! Oda #{number}: {total}.  ", "oda_imepokelewa")

    assert templates.render_notification(db, store, "order.placed", "sw", VALUES)[0] == \
        "Asante! Oda #1001: KSh 240.00."
    assert templates.render_notification(db, store, "order.placed", "en", VALUES)[0] \
        .startswith("Mama Mboga Fresh: order #1001 received.")
    views = {(v.name, v.locale): v for v in templates.list_templates(db, store)}
    assert views["order.placed", "sw"].customised
    assert views["order.placed", "sw"].whatsapp_template == "oda_imepokelewa"
    assert not views["order.placed", "en"].customised
    assert len(views) == len(templates.NOTICES) * 2  # English and Swahili


def test_editing_again_changes_the_same_row_and_reset_brings_the_default_back(db, store):
    templates.do_set_template(db, store, "order.delivered", "en", "Delivered: #{number}")
    templates.do_set_template(db, store, "order.delivered", "en", "Umefikiwa: #{number}")
    assert db.scalar(select(func.count(MessageTemplate.id))) == 1
    assert templates.render_notification(db, store, "order.delivered", "en",
                                         {"number": 7})[0] == "Umefikiwa: #7"

    templates.do_reset_template(db, store, "order.delivered", "en")
    assert templates.render_notification(db, store, "order.delivered", "en",
                                         {"store": "Duka", "number": 7})[0].startswith(
        "Duka: order #7 has been delivered.")


@pytest.mark.parametrize("name, locale, body, whatsapp, field", [
    ("order.lost", "en", "Hi {store}", None, "name"),
    ("order.placed", "fr", "Bonjour {store}", None, "locale"),
    ("order.placed", "en", "   ", None, "body"),
    ("order.placed", "en", "x" * 1001, None, "body"),
    ("order.placed", "en", "Pay {price} now", None, "body"),  # not a placeholder of it
    ("order.placed", "en", "Order {number", None, "body"),
    ("order.placed", "en", "{store.__class__}", None, "body"),
    ("order.placed", "en", "{total:>999}", None, "body"),
    ("order.placed", "en", "Thanks {store}", "not a name!", "whatsapp_template"),
])
def test_a_bad_template_is_refused_and_nothing_changes(db, store, name, locale, body, whatsapp,
                                                       field):
    templates.do_set_template(db, store, "order.placed", "en", "Before: #{number}")

    with pytest.raises(InvalidTemplate) as refused:
        templates.do_set_template(db, store, name, locale, body, whatsapp)

    assert refused.value.details["field"] == field
    db.rollback()
    rows = db.scalars(select(MessageTemplate)).all()
    assert [(r.name, r.locale, r.body, r.whatsapp_template) for r in rows] == [
        ("order.placed", "en", "Before: #{number}", None)]


def test_a_template_lists_what_a_merchant_may_use(db, store):
    with pytest.raises(InvalidTemplate) as refused:
        templates.do_set_template(db, store, "cart.reminder", "en", "{number}")
    assert refused.value.message == ("{number} is not a placeholder of cart.reminder; use "
                                     "{store}, {items}, {total}.")


def test_every_default_fits_its_placeholders(db, store):
    for name, notice in templates.NOTICES.items():
        assert templates.check_template(store, name, "en", notice.text)[0] == name
