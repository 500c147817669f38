"""WhatsApp: the Cloud API (through heyoo) and its webhook."""
