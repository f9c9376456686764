"""Opaque, time-ordered, prefixed identifiers (`pay_...`), Stripe-style."""

import os
import time

# Columns that hold our ids are this wide; a longer string is no id of ours.
ID_LENGTH = 40


def new_id(prefix: str) -> str:
    """Return `<prefix>_` + 12 hex digits of milliseconds + 16 random hex digits."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{os.urandom(8).hex()}"


def new_payment_id() -> str:
    return new_id("pay")


def new_refund_id() -> str:
    return new_id("rfd")


def new_event_id() -> str:
    return new_id("evt")
