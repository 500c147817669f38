"""WhatsApp screens: buttons, lists and numbered pages within Meta's limits."""
from __future__ import annotations

import pytest

from channels.paging import read_input
from channels.ussd.render import Labels
from channels.whatsapp.render import page_count, render
from dialogs import Choice, Reply, Turn

SWAHILI = Labels(more="Zaidi", back="Rudi")
FRUIT = ["Apples", "Bananas", "Mangoes", "Oranges", "Pawpaw", "Pineapple", "Avocado",
         "Passion fruit", "Watermelon", "Lemons", "Tangerines", "Guavas", "Coconut"]


def menu(n: int, text: str = "Pick a fruit:", **kwargs) -> Reply:
    return Reply(text, tuple(Choice(f"f:{i}", FRUIT[i]) for i in range(n)), **kwargs)


def test_three_choices_are_reply_buttons_by_choice_id():
    [message] = render(menu(3, can_go_back=False))
    assert message == {"type": "buttons", "body": "Pick a fruit:", "buttons": [
        {"id": "f:0", "title": "Apples"}, {"id": "f:1", "title": "Bananas"},
        {"id": "f:2", "title": "Mangoes"}]}


def test_a_screen_one_can_go_back_from_says_how_in_the_body():
    [message] = render(menu(2), labels=SWAHILI)
    assert message["body"] == "Pick a fruit:\n\n0 = Rudi"


def test_four_choices_are_a_list_with_the_button_label_given():
    [message] = render(menu(4, can_go_back=False), list_button="Chagua")
    assert message == {"type": "list", "body": "Pick a fruit:", "button": "Chagua", "rows": [
        {"id": f"f:{i}", "title": FRUIT[i], "description": ""} for i in range(4)]}


def test_ten_choices_are_still_one_list():
    [message] = render(menu(10))
    assert message["type"] == "list"
    assert [row["id"] for row in message["rows"]] == [f"f:{i}" for i in range(10)]
    assert page_count(menu(10)) == 1


def test_eleven_choices_are_numbered_text_in_pages_whose_numbers_carry_on():
    reply = menu(13)
    assert page_count(reply) == 2
    [first] = render(reply, 0, SWAHILI)
    [second] = render(reply, 1, SWAHILI)
    assert first == {"type": "text", "body": "Pick a fruit:\n\n" + "\n".join(
        [f"{i + 1}. {FRUIT[i]}" for i in range(10)] + ["98. Zaidi", "0. Rudi"])}
    assert second == {"type": "text",
                      "body": "11. Tangerines\n12. Guavas\n13. Coconut\n0. Rudi"}


def test_the_first_page_offers_back_only_when_the_screen_allows_it():
    [first] = render(menu(11, can_go_back=False))
    [second] = render(menu(11, can_go_back=False), 1)
    assert first["body"].endswith("10. Lemons\n98. More")
    assert second["body"] == "11. Tangerines\n0. Back"


def test_a_page_past_the_end_shows_the_last_page():
    assert render(menu(13), 7) == render(menu(13), 1)


def test_a_long_button_label_makes_a_list_that_shows_all_of_it():
    reply = Reply("Your cart", (Choice("pay", "Pay with M-Pesa now"),
                                Choice("more", "Keep shopping for vegetables and fruit")),
                  can_go_back=False)
    [message] = render(reply)
    assert message["type"] == "list"
    assert message["rows"] == [
        {"id": "pay", "title": "Pay with M-Pesa now", "description": ""},
        {"id": "more", "title": "Keep shopping for…",
         "description": "Keep shopping for vegetables and fruit"}]


def test_two_buttons_alike_make_a_list_as_meta_refuses_them():
    reply = Reply("Which one?", (Choice("v:1", "Tomatoes"), Choice("v:2", "Tomatoes")))
    assert render(reply)[0]["type"] == "list"


def test_a_row_title_is_cut_at_a_word_and_its_description_holds_72_characters():
    label = ("Sukuma wiki from Kinangop farms, fresh every morning, sold by the bunch of "
             "about half a kilo")
    reply = Reply("Greens", tuple(Choice(f"g:{i}", label) for i in range(4)))
    row = render(reply)[0]["rows"][0]
    assert row["title"] == "Sukuma wiki from…"
    assert len(row["title"]) <= 24
    assert row["description"] == ("Sukuma wiki from Kinangop farms, fresh every morning, sold "
                                  "by the…")
    assert len(row["description"]) <= 72


def test_an_interactive_body_is_cut_to_1024_at_a_word_keeping_the_way_back():
    reply = Reply("maneno " * 400, (Choice("a", "Yes"), Choice("b", "No")))
    [message] = render(reply)
    assert len(message["body"]) <= 1024
    assert message["body"].endswith("maneno…\n\n0 = Back")


def test_a_text_body_is_cut_to_4096_and_keeps_its_choices():
    [message] = render(menu(12, text="habari " * 1000))
    body = message["body"]
    assert len(body) <= 4096
    assert "habari…\n\n1. Apples" in body
    assert body.endswith("98. More\n0. Back")


def test_a_reply_with_a_picture_sends_the_picture_first_and_only_once():
    reply = Reply("Tomatoes 1kg - KSh 120", tuple(Choice(f"q:{n}", str(n)) for n in range(1, 12)),
                  image="https://cdn.duka.test/tomatoes.jpg")
    first = render(reply, 0)
    assert first[0] == {"type": "image", "link": "https://cdn.duka.test/tomatoes.jpg",
                        "caption": ""}
    assert first[1]["type"] == "text" and first[1]["body"].startswith("Tomatoes 1kg")
    assert [m["type"] for m in render(reply, 1)] == ["text"]
    goodbye = Reply("Asante!", image="https://cdn.duka.test/thanks.jpg", ends=True)
    assert [m["type"] for m in render(goodbye)] == ["image", "text"]


def test_an_ending_reply_is_plain_text_without_choices_or_a_way_back():
    reply = Reply("Asante! Order #1042 is on its way.", (Choice("x", "ignored"),), ends=True)
    assert render(reply) == [{"type": "text", "body": "Asante! Order #1042 is on its way."}]
    assert page_count(reply) == 1


def test_a_question_without_choices_is_text_with_the_way_back():
    reply = Reply("Type your delivery address:")
    assert render(reply, labels=SWAHILI) == [
        {"type": "text", "body": "Type your delivery address:\n\n0. Rudi"}]


@pytest.mark.parametrize("n", [2, 3, 4, 10])
def test_without_interactive_messages_every_screen_is_numbered_text(n):
    [message] = render(menu(n), interactive=False)
    assert message == {"type": "text", "body": "Pick a fruit:\n\n" + "\n".join(
        [f"{i + 1}. {FRUIT[i]}" for i in range(n)] + ["0. Back"])}
    assert page_count(menu(n), interactive=False) == 1


def test_without_interactive_messages_pages_still_hold_ten():
    reply = menu(13, can_go_back=False)
    assert page_count(reply, interactive=False) == 2
    assert render(reply, 1, interactive=False)[0]["body"] == (
        "11. Tangerines\n12. Guavas\n13. Coconut\n0. Back")


def test_twilio_text_stays_within_its_1600_characters():
    reply = Reply("habari " * 300, tuple(Choice(str(i), "ndizi " * 40) for i in range(10)))
    body = render(reply, interactive=False)[0]["body"]
    assert len(body) <= 1600
    assert body.count("…") == 11  # the question and each of the ten labels, cut
    assert body.endswith("0. Back")


def test_numbered_pages_skip_98_as_ussd_does_so_a_typed_number_picks_what_is_shown():
    reply = Reply("Big aisle:", tuple(Choice(f"p:{n}", f"P{n:03d}") for n in range(1, 106)))
    body = render(reply, 9)[0]["body"]  # choices 91 to 100
    assert body == "\n".join([f"{n}. P{n:03d}" for n in range(91, 98)]
                             + ["99. P098", "100. P099", "101. P100", "98. More", "0. Back"])
    turn = read_input("101", reply, Turn(None, None, None))
    assert turn.choice == "p:100"
