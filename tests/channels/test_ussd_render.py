import pytest

from channels.gsm import BASIC, EXTENSION, gsm7_length, to_gsm7
from channels.paging import read_input
from channels.ussd.render import paginate, render
from dialogs import Choice, Reply, Turn


def screens(reply: Reply) -> list[str]:
    return [render(reply, page) for page in range(len(paginate(reply)))]


def test_a_long_list_pages_within_160_characters_keeping_numbers_and_whole_choices():
    labels = [f"Product number {n} with a longish name" for n in range(1, 31)]
    reply = Reply("Choose a product:", tuple(Choice(f"p:{n}", label)
                                             for n, label in enumerate(labels, 1)))
    pages = screens(reply)

    assert len(pages) > 3
    assert all(gsm7_length(screen) <= 160 for screen in pages)
    shown = [line for screen in pages for line in screen[4:].split("\n")
             if line[:1].isdigit() and not line.startswith(("98.", "0."))]
    # every choice appears exactly once, whole, with its own number
    assert [line.split(". ", 1)[1] for line in shown] == labels
    assert [int(line.split(".")[0]) for line in shown] == list(range(1, 31))
    assert all("98. More" in screen for screen in pages[:-1])
    assert "98. More" not in pages[-1]
    assert pages[0].startswith("CON Choose a product:")


def test_a_screen_that_fits_has_no_more_option():
    reply = Reply("Karibu!", (Choice("shop", "Shop"), Choice("cart", "My cart")),
                  can_go_back=False)
    assert screens(reply) == ["CON Karibu!\n1. Shop\n2. My cart"]


def test_an_end_screen_is_cut_at_a_word_within_the_limit():
    reply = Reply("word " * 60, ends=True)
    (screen,) = screens(reply)
    assert screen.startswith("END word")
    assert len(screen) <= 160 and screen.endswith("word..")


def test_extension_characters_count_double():
    assert gsm7_length("a{b}") == 6
    assert gsm7_length("€5") == 3


@pytest.mark.parametrize("text, expected", [
    ("Café Olé", "Café Olé"),  # é is in GSM-7
    ("Crème brûlée", "Crème brulée"),  # è and é are GSM-7; û falls back to u
    ("Karibu 😀", "Karibu"),  # an emoji is left out, not shown as "?"
    ("“Mama’s” – shop…", "\"Mama's\" - shop..."),
    ("₦5,000", "N5,000"),
])
def test_text_is_transliterated_to_gsm7(text, expected):
    assert to_gsm7(text) == expected
    assert all(c in BASIC or c in EXTENSION for c in to_gsm7(text))


@pytest.mark.parametrize("text, expected", [
    ("Sugar ½ kg", "Sugar 1/2 kg"),  # not "Sugar 12 kg": the fraction slash is kept
    ("Oil ¾ l, ¼ off", "Oil 3/4 l, 1/4 off"),
    ("Œufs frais, bœuf", "Oeufs frais, boeuf"),
    ("ƙwai, ɓaure, ɗan, ŋombe, ɛ ɔ ł đ ı", "kwai, baure, dan, ngombe, e o l d i"),
    ("«Fresh» 4°C", '"Fresh" 4oC'),
    ("Tomato 🍅 box 👍🏽", "Tomato box"),
    ("1️⃣ Maziwa", "1 Maziwa"),
    ("ሱቅ", "??"),  # a letter with no look-alike stays "?" (SMS then switches to UCS-2)
])
def test_text_is_transliterated_sensibly(text, expected):
    assert to_gsm7(text) == expected


NAME = "Mchanganyiko-wa-viungo-" * 5  # 115 characters, not one space


def test_a_cart_too_long_for_one_screen_keeps_its_total_behind_98():
    cart = Reply("2x Premium extra virgin cold pressed sunflower cooking oil family pack "
                 "KSh 2,469.08\n1x Bar soap KSh 150\n2x Cooking oil 1L KSh 640\nTotal KSh 3,259.08",
                 (Choice("checkout", "Checkout"), Choice("more", "Add more"),
                  Choice("change", "Change quantities")))
    assert screens(cart) == [
        "CON 2x Premium extra virgin cold pressed sunflower cooking oil family pack KSh 2,469.08"
        "\n1x Bar soap KSh 150\n2x Cooking oil 1L KSh 640\n98. More\n0. Back",
        "CON Total KSh 3,259.08\n1. Checkout\n2. Add more\n3. Change quantities\n0. Back",
    ]


def test_a_question_after_a_long_name_is_not_cut():
    name = ("Mama Mboga premium family size extra strong multipurpose laundry and dishwashing bar "
            "soap with lemon and aloe, pack of six")  # 120 characters, as a merchant may type
    reply = Reply(f"{name} KSh 1,234.56 each.\nHow many? (1-50)")
    # The line is one character too long for a screen: its last word carries on, whole.
    assert screens(reply) == [f"CON {name} KSh 1,234.56\n98. More\n0. Back",
                              "CON each.\nHow many? (1-50)\n0. Back"]


def test_a_long_word_in_the_text_is_kept_whole_and_the_list_carries_on():
    reply = Reply(f"Sorry, {NAME} is sold out.\nChoose a product:",
                  (Choice("p:1", f"{NAME} (sold out)"),))
    assert screens(reply) == [f"CON Sorry, {NAME} is sold out.\n98. More\n0. Back",
                              f"CON Choose a product:\n1. {NAME} (sold out)\n0. Back"]


def test_a_label_too_long_for_any_screen_is_shortened_mid_word_not_to_nothing():
    reply = Reply("Choose a product:", (Choice("p:1", NAME * 2), Choice("p:2", "Cabbage")))
    assert screens(reply) == [
        "CON Choose a product:\n98. More\n0. Back",
        f"CON 1. {(NAME * 2)[:134]}..\n98. More\n0. Back",  # 4 + 3 + 134 + 2 + 17 = 160
        "CON 2. Cabbage\n0. Back",
    ]


def test_text_longer_than_a_screen_pages_between_words():
    words = [f"word{n}" for n in range(60)]
    pages = screens(Reply(" ".join(words), (Choice("ok", "OK"),)))
    assert len(pages) == 3 and all(gsm7_length(page) <= 160 for page in pages)
    assert all(page.endswith("\n98. More\n0. Back") for page in pages[:-1])
    assert pages[-1].endswith("\n1. OK\n0. Back")
    text = [page[4:].split("\n")[0] for page in pages]
    assert " ".join(text).split(" ") == words  # every word, whole, in order


def test_only_a_word_longer_than_a_screen_is_cut_and_it_carries_on():
    pages = screens(Reply("Help: " + "y" * 300, can_go_back=False))
    assert pages == ["CON Help:\n98. More", "CON " + "y" * 139 + "\n98. More\n0. Back",
                     "CON " + "y" * 139 + "\n98. More\n0. Back", "CON " + "y" * 22 + "\n0. Back"]


def test_an_end_screen_that_does_not_fit_drops_a_long_last_word_whole():
    text = "Asante! Order #1002 is placed. " + "Pay KSh 340 on delivery. " * 4 + NAME
    (screen,) = screens(Reply(text, ends=True))
    assert screen == "END " + text[:text.index(NAME)].rstrip() + ".."  # not half of NAME
    assert gsm7_length(screen) <= 160


def test_an_end_screen_of_one_word_longer_than_the_screen_is_cut_mid_word():
    (screen,) = screens(Reply(NAME * 2, ends=True))
    assert screen == f"END {(NAME * 2)[:154]}.."  # as much as fits, rather than nothing
    assert gsm7_length(screen) == 160


def test_a_long_choice_label_keeps_as_much_of_a_long_name_as_fits():
    pages = screens(Reply("Pick:", (Choice("p:1", f"Tea {NAME * 2}"),)))
    assert pages[1] == f"CON 1. Tea {(NAME * 2)[:139]}..\n0. Back"  # not "1. Tea.."


def test_no_choice_is_numbered_98_and_every_choice_can_be_picked():
    reply = Reply("Big aisle:", tuple(Choice(f"p:{n}", f"P{n:03d}") for n in range(1, 121)))
    lines = [line for screen in screens(reply) for line in screen[4:].split("\n")]
    numbered = [line for line in lines if line.startswith(tuple("123456789"))]
    assert "97. P097" in numbered and "99. P098" in numbered and "121. P120" in numbered
    assert not [line for line in numbered if line.startswith("98. ") and line != "98. More"]
    choices = {line.split(". ")[1]: line.split(". ")[0] for line in numbered if line != "98. More"}
    assert len(choices) == 120
    for label, typed in choices.items():  # what the shopper types picks what the screen shows
        assert read_input(typed, reply, Turn(None, None, None)).choice == f"p:{int(label[1:])}"
    assert read_input("98", reply, Turn(None, None, None)).choice is None  # never a choice
