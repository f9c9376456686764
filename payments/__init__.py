"""Payments core: domain services, gateways, auth, settings, and the composition root."""
