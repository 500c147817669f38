"""WhatsApp screens: a ``Reply`` as content dicts (see ``channels.messages``).

Up to 3 choices are reply buttons, up to 10 a list, more than 10 numbered text in pages of 10
whose numbers continue (page 2 starts at 11), with ``98`` for more and ``0`` for back, as on
USSD. Limits: shared/DESIGN.md section 5 and shared/reference/channels.md section 4.4.
"""
from __future__ import annotations

from channels.paging import number
from channels.ussd.render import MORE, PREVIOUS, Labels
from dialogs import Reply

__all__ = ["render", "page_count", "fit", "Labels"]

BUTTONS_MAX, ROWS_MAX, PAGE_SIZE = 3, 10, 10
BUTTON_TITLE, ROW_TITLE, ROW_DESCRIPTION, LIST_BUTTON = 20, 24, 72, 20
INTERACTIVE_BODY, TEXT_BODY = 1024, 4096
# Twilio caps a message body at 1,600 characters, WhatsApp included, and Twilio is the one
# provider that gets numbered text only (interactive=False).
TWILIO_BODY = 1600
ELLIPSIS = "…"


def fit(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut at a word boundary and marked with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    if " " in cut.strip():
        cut = cut[: cut.rstrip().rfind(" ")]
    return cut.rstrip() + ELLIPSIS


def _as_buttons(reply: Reply) -> bool:
    # A button title longer than 20, or two alike, would be cut or refused by Meta; a list
    # shows the whole label instead.
    titles = [c.label.strip() for c in reply.choices]
    return (len(titles) <= BUTTONS_MAX and len(set(titles)) == len(titles)
            and all(0 < len(t) <= BUTTON_TITLE for t in titles))


def _numbered(reply: Reply, interactive: bool) -> bool:
    return not interactive or len(reply.choices) > ROWS_MAX or not reply.choices


def page_count(reply: Reply, interactive: bool = True) -> int:
    if reply.ends or not _numbered(reply, interactive):
        return 1
    return max(1, -(-len(reply.choices) // PAGE_SIZE))


def page_showing(reply: Reply, choice_ids: list[str], interactive: bool = True) -> int:
    """The page of ``reply`` that lists the first of ``choice_ids`` it offers; 0 if none (or
    if the reply is one interactive list, which has no pages)."""
    offered = [choice.id for choice in reply.choices]
    found = next((offered.index(c) for c in choice_ids if c in offered), None)
    if found is None or page_count(reply, interactive) == 1:
        return 0
    return found // PAGE_SIZE


def render(reply: Reply, page: int = 0, labels: Labels = Labels(), interactive: bool = True,
           list_button: str = "Choose") -> list[dict]:
    """The messages that show ``page`` of ``reply`` (a picture first, when it has one)."""
    page = min(max(page, 0), page_count(reply, interactive) - 1)
    picture = ([{"type": "image", "link": reply.image, "caption": ""}]
               if reply.image and page == 0 else [])
    limit = TEXT_BODY if interactive else TWILIO_BODY
    if reply.ends:
        return picture + [{"type": "text", "body": fit(reply.text, limit)}]
    if _numbered(reply, interactive):
        return picture + [{"type": "text", "body": _page_text(reply, page, labels, limit)}]
    back = f"\n\n{PREVIOUS} = {labels.back}" if reply.can_go_back else ""
    body = fit(reply.text, INTERACTIVE_BODY - len(back)) + back
    if _as_buttons(reply):
        buttons = [{"id": c.id, "title": c.label.strip()} for c in reply.choices]
        return picture + [{"type": "buttons", "body": body, "buttons": buttons}]
    rows = [_row(c.id, c.label.strip()) for c in reply.choices]
    return picture + [{"type": "list", "body": body, "button": fit(list_button, LIST_BUTTON),
                       "rows": rows}]


def _row(choice_id: str, label: str) -> dict:
    if len(label) <= ROW_TITLE:
        return {"id": choice_id, "title": label, "description": ""}
    # The start as the title, the whole label (as much as fits) underneath.
    return {"id": choice_id, "title": fit(label, ROW_TITLE),
            "description": fit(label, ROW_DESCRIPTION)}


def _page_text(reply: Reply, page: int, labels: Labels, limit: int) -> str:
    first = page * PAGE_SIZE
    shown = reply.choices[first:first + PAGE_SIZE]
    # Each line gets a fair share of the body, so ten long labels still fit one message.
    line_limit = limit // (PAGE_SIZE + 3)
    # Numbered as on USSD (no choice is 98, the More key), so chat.read_input finds them.
    lines = [fit(f"{number(i)}. {c.label}", line_limit) for i, c in enumerate(shown, first)]
    if first + PAGE_SIZE < len(reply.choices):
        lines.append(f"{MORE}. {labels.more}")
    if page > 0 or reply.can_go_back:
        lines.append(f"{PREVIOUS}. {labels.back}")
    menu = "\n".join(lines)
    if page > 0:  # the question is in the message before; this one carries on its list
        return menu
    header = fit(reply.text, limit - len(menu) - 2) if menu else fit(reply.text, limit)
    return f"{header}\n\n{menu}" if menu else header
