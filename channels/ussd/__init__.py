"""USSD through Africa's Talking: one POST per hop, a ``CON``/``END`` text screen back.

- ``render``: a ``Reply`` as a screen within 160 GSM-7 characters, paged with ``98``/``0``.
- ``hops``: what is new in AT's accumulated ``text``, played to ``hops.dialog``.
- ``routing``: which store a hop is for (dedicated or shared service codes).
- ``resume``: "Continue where you left off?" after a dropped session.
- ``session_ends``: AT's end-of-session notifications, recorded for analytics.
- ``views``: the blueprint: ``POST /channels/ussd/africastalking`` and ``.../events``.
"""
from channels.ussd.views import bp  # noqa: F401
