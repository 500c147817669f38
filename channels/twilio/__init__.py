"""Twilio: SMS and WhatsApp through the twilio SDK, and its signed webhooks."""
