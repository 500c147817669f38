import pytest

from channels.gsm import BASIC, EXTENSION, gsm7_length, to_gsm7
from channels.ussd.render import paginate, render
from dialogs import Choice, Reply


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
    ("Karibu 😀", "Karibu ?"),
    ("“Mama’s” – shop…", "\"Mama's\" - shop..."),
    ("₦5,000", "N5,000"),
])
def test_text_is_transliterated_to_gsm7(text, expected):
    assert to_gsm7(text) == expected
    assert all(c in BASIC or c in EXTENSION for c in to_gsm7(text))
