"""Payment providers (M-Pesa, MTN MoMo, Paystack, Flutterwave) arrive here; today an order is
paid by cash on delivery, which needs no provider (``commerce.orders.PAYMENT_METHODS``).
"""
