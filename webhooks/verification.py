"""Stripe-Signature verification with the stripe SDK, against every configured secret."""

import time
from collections.abc import Sequence

import stripe

TOLERANCE_SECONDS = 300


def signature_is_valid(
    payload: bytes, header: str | None, secrets: Sequence[str], tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """True when one of `secrets` signed `payload` at a time within `tolerance` of now.

    Several secrets are tried so a rotation (old and new secret both live) loses
    nothing. The SDK rejects stale timestamps only; future ones are rejected here, so
    a signed request cannot be minted now and replayed long after.
    """
    if not header or not any(_verified(payload, header, secret, tolerance) for secret in secrets):
        return False
    return _timestamp(header) <= time.time() + tolerance


def _verified(payload: bytes, header: str, secret: str, tolerance: int) -> bool:
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
    except (stripe.SignatureVerificationError, ValueError, TypeError):
        # ValueError: a body that is not UTF-8; TypeError: a non-ASCII signature.
        return False
    return True


def _timestamp(header: str) -> int:
    # The first `t=`, as the SDK reads it; the SDK has already parsed it successfully.
    pairs = (item.split("=", 1) for item in header.split(","))
    return next(int(pair[1]) for pair in pairs if pair[0] == "t")
