"""Whatever a reply holds, its USSD pages lose no word of its text and every choice can be
picked by the number its page shows."""
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.gsm import BASIC, EXTENSION, gsm7_length, to_gsm7
from channels.paging import MORE, number, read_input
from channels.ussd.render import SCREEN_LIMIT, paginate, render
from dialogs import Choice, Reply, Turn

NAV = ("98. More", "0. Back")
# Words up to 60 characters (shorter than a screen), with extension characters (2 units each).
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz{}[]€é", min_size=1, max_size=60)
lines = st.lists(words, min_size=1, max_size=30).map(" ".join)
labels = st.text(alphabet="abcdefgh ijklmnop{}€-", min_size=1, max_size=200)


@settings(max_examples=300, deadline=None)
@given(text=st.lists(lines, min_size=1, max_size=4).map("\n".join),
       names=st.lists(labels, max_size=130), can_go_back=st.booleans())
def test_no_page_loses_a_word_and_every_choice_is_reachable(text, names, can_go_back):
    reply = Reply(text, tuple(Choice(f"c{i}", name) for i, name in enumerate(names)),
                  can_go_back=can_go_back)
    pages = paginate(reply)
    screens = [render(reply, n) for n in range(len(pages))]
    assert all(gsm7_length(s) <= SCREEN_LIMIT and set(s) <= BASIC | EXTENSION for s in screens)

    content = []
    for n, page in enumerate(pages):
        last = n == len(pages) - 1
        nav = ([] if last else ["98. More"]) + (["0. Back"] if can_go_back or n else [])
        assert page[len(page) - len(nav):] == nav  # 98 on every page but the last, 0 after
        content += page[:len(page) - len(nav)]
    shown, told = content[len(content) - len(names):], content[:len(content) - len(names)]
    assert " ".join(told).split() == text.split()  # every word, whole and in order

    for i, (line, name) in enumerate(zip(shown, names)):
        typed, _, label = line.partition(". ")
        assert typed == str(number(i)) != MORE
        assert read_input(typed, reply, Turn(None, None, None)).choice == f"c{i}"
        whole = to_gsm7(name)
        # whole when it fits a screen with 98 and 0, else as much of it as fits, then ".."
        assert label == whole or (label.endswith("..") and whole.startswith(label[:-2])
                                  and gsm7_length(line) > 120)


long_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz{}€é", min_size=1, max_size=200)


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.lists(long_words, min_size=1, max_size=30).map(" ".join),
                     min_size=1, max_size=4).map("\n".join))
def test_an_end_screen_is_the_text_or_its_start_cut_after_a_whole_word(text):
    screen = render(Reply(text, ends=True))
    assert gsm7_length(screen) <= SCREEN_LIMIT and screen.startswith("END ")
    whole, kept = to_gsm7(text), screen.removeprefix("END ")
    if kept != whole:
        kept = kept.removesuffix("..")
        assert whole.startswith(kept) and screen.endswith("..")
        # after a whole word; mid-word only when the first word alone is longer than a screen
        assert whole[len(kept)].isspace() or " " not in kept and "\n" not in kept
