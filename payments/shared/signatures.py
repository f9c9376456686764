"""Webhook signatures: Stripe's HMAC and PayPal's signed message (in), Standard Webhooks' (out)."""

import base64
import hashlib
import hmac
import zlib


def stripe_signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """The `Stripe-Signature` header Stripe would send for `body` at `timestamp`."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def standard_webhook_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value (`v1,<base64>`) of the Standard Webhooks spec."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def paypal_signed_message(
    transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> bytes:
    """What PayPal signs (SHA256withRSA) for one delivery of `body` to the webhook `webhook_id`.

    `<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body, unsigned>`.
    """
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()
