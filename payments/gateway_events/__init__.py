"""Stripe events: the inbox that stores each once, and applying them to payments."""
