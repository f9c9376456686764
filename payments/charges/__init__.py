"""Charging a payment method: input rules and the charge flow."""
