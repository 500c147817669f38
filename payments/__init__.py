"""Taking money: one module per provider behind one protocol (``payments.base``), the payment
state machine (``state``), exactly-once callbacks (``service``, ``views``), reconciliation
(``jobs``) and refunds. Imports ``commerce`` only."""
