"""A shopper whose session dropped is asked, on redialling, whether to continue."""
import pytest

from channels.ussd.resume import RESUME_WINDOW
from commerce.stores import do_add_channel_address, do_create_store

PHONE = "+254712345678"
ASK = "CON Continue where you left off?\n1. Yes\n2. No"
ASK_AGAIN = ("CON Please reply with a number from the list.\nContinue where you left off?\n"
             "1. Yes\n2. No")


@pytest.fixture
def dropped(hop):
    """Session A: home, the product list, its second page; then the line drops (no END)."""
    screens = {"home": hop("", "A"), "list": hop("1", "A"), "page2": hop("1*98", "A")}
    assert "98. More" in screens["list"] and screens["page2"] != screens["list"]
    return screens


def test_redialling_after_a_drop_asks_and_yes_lands_on_the_same_page(hop, dropped):
    assert hop("", "B") == ASK
    assert hop("1", "B") == dropped["page2"]
    assert hop("1*0", "B") == dropped["list"]  # the paging carries on from there
    assert hop("1*0*00", "B") == dropped["home"]


def test_no_starts_at_home_and_the_next_dial_is_not_asked_again(hop, dropped):
    assert hop("", "B") == ASK
    assert hop("2", "B") == dropped["home"]
    assert hop("", "C") == dropped["home"]


def test_a_retried_question_is_asked_again_and_other_answers_reprompt(hop, dropped):
    assert hop("", "B") == ASK
    assert hop("", "B") == ASK  # the gateway retried the hop
    assert hop("7", "B") == ASK_AGAIN
    assert hop("7", "B") == ASK_AGAIN
    assert hop("7*1", "B") == dropped["page2"]


def test_a_drop_at_the_question_asks_again_on_the_next_dial(hop, dropped):
    assert hop("", "B") == ASK
    assert hop("", "C") == ASK
    assert hop("1", "C") == dropped["page2"]


def test_a_dial_string_with_input_goes_straight_there_without_asking(hop, dropped):
    assert hop("1", "B") == dropped["list"]  # *384*123*1#


def test_a_session_that_reached_end_is_not_offered(hop, db):
    home = hop("", "A")
    for text in ["1", "1*1", "1*1*3", "1*1*3*1"]:  # Cabbage x3, pickup
        assert hop(text, "A").startswith("CON ")
    assert hop("1*1*3*1*1", "A").startswith("END Asante! Order #1001 is placed.")  # pay
    assert hop("", "B") == home


def test_just_dialling_and_dropping_leaves_nothing_to_resume(hop):
    home = hop("", "A")
    assert hop("", "B") == home


def test_the_record_is_per_phone_in_e164_and_per_store(hop, db, dropped):
    juma = do_create_store(db, "duka-la-juma", "Duka la Juma", "KES", "KE", "en", ["en", "sw"],
                           "Africa/Nairobi")
    do_add_channel_address(db, juma, "ussd", "*384*124#", "")
    assert hop("", "B", phone="+254722000111") == dropped["home"]  # another phone
    assert hop("", "C", code="*384*124#").startswith("CON Karibu Duka la Juma!")  # another store
    assert hop("", "D", phone="0712345678") == ASK  # the same phone, written locally


def test_the_record_lives_ten_minutes_under_store_and_phone(app, hop, store):
    sessions = app.extensions["duka.channels"].sessions
    calls = []
    real_set = sessions.set

    def spy(key, value, ttl):
        calls.append((key, ttl))
        real_set(key, value, ttl)

    sessions.set = spy
    hop("", "A")
    hop("1", "A")
    assert RESUME_WINDOW == 600
    assert (f"ussd:resume:{store.id}:{PHONE}", 600) in calls
    assert ("ussd:A", app.extensions["duka.channels"].ussd_session_ttl) in calls


def test_on_a_shared_code_the_question_comes_once_the_store_is_picked(hop, db, store):
    do_add_channel_address(db, store, "ussd", "*384*500#", "7")
    hop("7", "A", code="*384*500#")  # *384*500*7#
    page1 = hop("7*1", "A", code="*384*500#")
    page2 = hop("7*1*98", "A", code="*384*500#")
    assert page2 != page1
    assert hop("", "B", code="*384*500#") == "CON Enter the store number:"
    assert hop("7", "B", code="*384*500#") == ASK
    assert hop("7*1", "B", code="*384*500#") == page2


@pytest.mark.parametrize("way_home", [["1*98*00"], ["1*98*0", "1*98*0*0"]])
def test_back_on_the_home_menu_there_is_nothing_to_resume(hop, dropped, way_home):
    for text in way_home:  # 00, or back a page and back again
        screen = hop(text, "A")
    assert screen == dropped["home"]
    assert hop("", "B") == dropped["home"]  # not "Continue where you left off?"
