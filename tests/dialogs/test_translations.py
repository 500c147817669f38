"""The shopper-facing text in Kiswahili and French: complete catalogs, in step with the code,
and screens that still fit a feature phone."""
import contextlib
import io
import string
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from channels.gsm import BASIC, EXTENSION, gsm7_length
from commerce.customers import get_or_create_customer

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
TRANSLATED = ["sw", "fr"]  # English is the source language: its msgstr may stay empty
# The commerce core's and payments' refusals a shopper may read are marked with N_ too.
SOURCES = ["dialogs", "channels", "commerce", "payments"]
EXTRACT = ["pybabel", "extract", "-F", "babel.cfg", "-k", "t", "-k", "N_", "--no-location",
           "-o", "locales/messages.pot", *SOURCES]
UPDATE = ["pybabel", "update", "-i", "locales/messages.pot", "-d", "locales"]
HOW_TO_UPDATE = (f"the catalogs are out of date: run `{' '.join(EXTRACT)}` then "
                 f"`{' '.join(UPDATE)}`, and translate the new messages in sw and fr")

PHONE = "+254712345678"
CODE = "*384*123#"
CATEGORIES = "1. Vegetables\n2. Fruits\n3. Grains & Flour\n4. Dairy & Eggs\n5. Household\n"
HOME_EN = ("CON Karibu Mama Mboga Fresh!\n" + CATEGORIES
           + "6. Search\n7. My cart\n8. My orders\n9. Language\n10. Help")
HOME_SW = ("CON Karibu Mama Mboga Fresh!\n" + CATEGORIES
           + "6. Tafuta\n7. Kikapu changu\n8. Oda zangu\n9. Lugha\n10. Msaada")
HOME_FR = ("CON Bienvenue chez Mama Mboga Fresh\n" + CATEGORIES
           + "6. Chercher\n7. Panier\n8. Commandes\n9. Langue\n10. Aide")


def _catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _ids(catalog) -> set[str]:
    return {m.id for m in catalog if m.id}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _is_gsm7(text: str) -> bool:
    return all(c in BASIC or c in EXTENSION for c in text)


# -- the catalogs -------------------------------------------------------------------------------
def test_the_template_has_the_shopper_facing_messages():
    ids = _ids(_catalog(LOCALES / "messages.pot"))
    assert {"Karibu {store}!", "My cart", "Checkout", "Awaiting payment",
            "Please reply with a number from the list."} <= ids


@pytest.mark.parametrize("lang", ["en", *TRANSLATED])
def test_each_catalog_has_exactly_the_templates_messages(lang):
    template = _ids(_catalog(LOCALES / "messages.pot"))
    catalog = _ids(_catalog(LOCALES / lang / "LC_MESSAGES" / "messages.po"))
    assert catalog - template == set(), HOW_TO_UPDATE
    assert template - catalog == set(), HOW_TO_UPDATE


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(lang):
    template = _ids(_catalog(LOCALES / "messages.pot"))
    catalog = {m.id: m for m in _catalog(LOCALES / lang / "LC_MESSAGES" / "messages.po") if m.id}
    assert [i for i in template if i not in catalog or not catalog[i].string] == [], \
        f"untranslated in {lang}: " + HOW_TO_UPDATE
    assert [i for i in template if catalog[i].fuzzy] == [], f"fuzzy in {lang}: check them"
    assert {i: catalog[i].string for i in template
            if _placeholders(catalog[i].string) != _placeholders(i)} == {}
    assert {i: catalog[i].string for i in template
            if catalog[i].string.count("\n") != i.count("\n")} == {}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_are_gsm7_and_about_as_short_as_the_english(lang):
    catalog = _catalog(LOCALES / lang / "LC_MESSAGES" / "messages.po")
    # ç, ê, ô, À ... are not GSM-7: a feature phone would show them without their accent.
    assert [m.string for m in catalog if m.id and not _is_gsm7(m.string)] == []
    # A screen holds 160 characters: a translation may be a little longer than the English.
    assert [m.string for m in catalog
            if m.id and gsm7_length(m.string) > 1.3 * len(m.id) + 8] == []


def test_the_catalogs_are_up_to_date_with_the_code(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    extracted = tmp_path / "messages.pot"
    command = [*EXTRACT[:EXTRACT.index("-o") + 1], str(extracted), *SOURCES]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        CommandLineInterface().run(command)
    in_code = _ids(_catalog(extracted))
    in_template = _ids(_catalog(LOCALES / "messages.pot"))
    assert sorted(in_code - in_template) == [], "new in the code: " + HOW_TO_UPDATE
    assert sorted(in_template - in_code) == [], "gone from the code: " + HOW_TO_UPDATE


# -- over the real USSD endpoint ----------------------------------------------------------------
@pytest.fixture
def dial(app, store):
    client = app.test_client()
    screens = []

    def dial(session: str, text: str = "") -> str:
        response = client.post("/channels/ussd/africastalking", data={
            "sessionId": session, "serviceCode": CODE, "phoneNumber": PHONE,
            "networkCode": "63902", "text": text})
        assert response.status_code == 200
        screen = response.get_data(as_text=True)
        screens.append(screen)
        return screen

    yield dial
    assert [s for s in screens if gsm7_length(s) > 160 or not _is_gsm7(s)] == []


def test_a_shopper_who_picks_kiswahili_gets_it_now_and_on_the_next_dial(dial):
    assert dial("lang-1") == HOME_EN
    assert dial("lang-1", "9") == "CON Choose your language:\n1. English\n2. Kiswahili\n0. Back"
    assert dial("lang-1", "9*2") == HOME_SW
    assert dial("lang-1", "9*2*1").startswith("CON Chagua bidhaa:")  # Vegetables
    # The session drops; the next dial (a new session id) offers to continue, then home.
    assert dial("lang-2") == "CON Endelea ulipoachia?\n1. Ndiyo\n2. Hapana"
    assert dial("lang-2", "2") == HOME_SW
    assert dial("lang-3", "9") == "CON Chagua lugha yako:\n1. English\n2. Kiswahili\n0. Rudi"


def test_a_shopper_who_picks_french_gets_it_now_and_on_the_next_dial(dial, db, store):
    get_or_create_customer(db, store, PHONE)
    store.locales = "en,sw,fr"
    db.commit()
    assert dial("lang-1") == HOME_EN
    assert dial("lang-1", "9") == ("CON Choose your language:\n1. English\n2. Kiswahili\n"
                                   "3. Francais\n0. Back")  # ç is not GSM-7
    assert dial("lang-1", "9*3") == HOME_FR
    assert dial("lang-1", "9*3*1").startswith("CON Choisissez un produit")  # Vegetables
    assert dial("lang-2") == "CON Reprendre où vous en étiez ?\n1. Oui\n2. Non"
    assert dial("lang-2", "2") == HOME_FR
    assert dial("lang-3", "9") == ("CON Choisissez votre langue :\n1. English\n2. Kiswahili\n"
                                   "3. Francais\n0. Retour")

