"""Dramatiq broker set-up and actors: Stripe event processing, fan-out, relay, sweeps."""
