"""Tests of the PayPal room: its client and token, and its reading of webhook events."""
