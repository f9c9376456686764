"""Starlette routes that receive Stripe webhooks: verify, store once, enqueue, answer."""
