"""Tortoise models (the persisted state) and their migrations."""

MODEL_MODULES = [
    "models.payment",
    "models.idempotency",
    "models.outbox",
    "models.inbox",
    "models.customer",
    "models.dispute",
    "models.endpoint",
]
