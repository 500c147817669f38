"""Channel-agnostic conversations: a ``Turn`` comes in, a ``Reply`` goes out.

Dialogs never see a wire format; channels turn requests into turns and render replies.
Channels talk to ``dialogs.registry.conversation``.
"""
from dialogs.base import BACK, HOME, Choice, Reply, Turn  # noqa: F401
