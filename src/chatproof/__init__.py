"""chatproof: lawful WhatsApp customer service with a tamper-evident archive."""

__version__ = "0.1.0"
