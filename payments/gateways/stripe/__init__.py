"""Stripe's room: its client, its errors, and the reading of its webhooks and objects."""
