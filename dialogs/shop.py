"""Transitional: channels still build ``ShopDialog()``; the conversation is in dialogs.registry."""
from dialogs.registry import conversation


def ShopDialog():  # noqa: N802 (removed once channels import dialogs.registry.conversation)
    return conversation
