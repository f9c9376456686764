"""One signed POST of an event to a consumer, and what came back."""

import asyncio
import json
import time

import aiohttp

from models.outbox import OutboxEvent
from payments.outbox.destination import Destination
from payments.outbox.policy import DeliveryPolicy
from payments.shared.correlation import REQUEST_ID_HEADER
from payments.shared.input_rules import storable
from payments.shared.signatures import standard_webhook_signature

_ANSWER_BYTES = 2048
_KEPT_ERROR_CHARACTERS = 500


async def post(
    event: OutboxEvent,
    destination: Destination,
    policy: DeliveryPolicy,
    session: aiohttp.ClientSession,
) -> tuple[int | None, str | None]:
    """POST the signed event; its status code, or None and the error when there was no answer.

    Signed with each of the destination's secrets, space-separated (Standard Webhooks): after
    a rotation the consumer verifies with whichever secret it has.
    """
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            standard_webhook_signature(secret, event.id, timestamp, body)
            for secret in destination.secrets
        ),
    }
    if event.request_id:
        headers[REQUEST_ID_HEADER] = event.request_id
    timeout = aiohttp.ClientTimeout(
        sock_connect=policy.connect_timeout, sock_read=policy.read_timeout
    )
    try:
        # aiohttp times each phase; the deadline bounds the whole attempt within the lease.
        async with (
            asyncio.timeout(policy.deadline),
            # No redirects: a Location could aim the POST inside the network the endpoint
            # rules keep it out of (and past the https-only rule); a 3xx is a failed attempt.
            session.post(
                destination.url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as response,
        ):
            # Enough for `last_error`; reading a short answer whole lets the connection be reused.
            answer = await response.content.read(_ANSWER_BYTES)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:_KEPT_ERROR_CHARACTERS]
    if 200 <= response.status < 300:
        return response.status, None
    # A consumer's answer is any text it likes; keep what PostgreSQL can store of it.
    return response.status, storable(answer.decode("utf-8", "replace")[:_KEPT_ERROR_CHARACTERS])
