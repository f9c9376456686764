"""Idempotency keys as Stripe does them: claim, fingerprint, replay, resume, purge."""
