"""Stripe events through the whole path: HTTP, the inbox, Redis and a real worker process."""

import inspect
import subprocess
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest

from models.enums import InboxStatus, PaymentStatus
from models.inbox import WebhookEvent
from models.outbox import OutboxEvent
from models.payment import Payment, PaymentStatusHistory
from payments.gateway_events.inbox import store_event
from tests.conftest import settings_env
from tests.graph.charging import charge
from tests.processes import PAYMENTS
from tests.support import new_subject
from tests.webhooks.factories import (
    body_of,
    charged,
    envelope_of,
    event,
    eventually,
    intent,
    new_id,
    post_event,
    quiet_gateway,
)


async def _row(event_id: str) -> WebhookEvent | None:
    return await WebhookEvent.get_or_none(event_id=event_id)


def _reaches(event_id: str, status: InboxStatus):
    async def check() -> bool:
        row = await _row(event_id)
        return row is not None and row.status is status

    return check


def _payment_is(payment_id: str, status: PaymentStatus):
    async def check() -> bool:
        return (await Payment.get(id=payment_id)).status is status

    return check


async def test_worker_applies_a_delivered_event_and_ignores_its_duplicate(http, worker):
    """A PROCESSING payment turns SUCCEEDED via the worker; a redelivery changes nothing."""
    payment = await charged()
    succeeded = event("payment_intent.succeeded", intent(payment.provider_payment_id))
    assert (await post_event(http, succeeded)).status_code == 200
    await eventually(_reaches(succeeded["id"], InboxStatus.PROCESSED))
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.SUCCEEDED
    outbox = await OutboxEvent.filter(payment_id=payment.id).count()
    assert (await post_event(http, succeeded)).status_code == 200
    # A later event the worker settles marks the point by which a re-enqueue would have run.
    marker = event("customer.created", {"id": new_id("cus")})
    await post_event(http, marker)
    await eventually(_reaches(marker["id"], InboxStatus.IGNORED))
    assert await WebhookEvent.filter(event_id=succeeded["id"]).count() == 1
    assert await PaymentStatusHistory.filter(provider_event_id=succeeded["id"]).count() == 1
    assert await OutboxEvent.filter(payment_id=payment.id).count() == outbox


async def test_simulated_gateway_outcomes_arrive_by_signed_webhook(http, worker):
    """pm_sim_processing ends SUCCEEDED and pm_sim_processing_fails FAILED, by themselves."""
    sub = new_subject()
    ok = (await charge(http, sub, paymentMethodId="pm_sim_processing"))["payment"]
    ko = (await charge(http, sub, paymentMethodId="pm_sim_processing_fails"))["payment"]
    assert (ok["status"], ko["status"]) == ("PROCESSING", "PROCESSING")
    await eventually(_payment_is(ok["id"], PaymentStatus.SUCCEEDED))
    await eventually(_payment_is(ko["id"], PaymentStatus.FAILED))
    assert (await Payment.get(id=ko["id"])).failure_code == "card_declined"


async def test_event_for_a_payment_not_yet_known_is_retried_until_it_appears(http, worker):
    """The worker retries an event whose payment is missing and applies it once it exists."""
    pi = new_id("pi")
    early = event("payment_intent.succeeded", intent(pi))
    assert (await post_event(http, early)).status_code == 200

    async def attempted() -> bool:
        row = await _row(early["id"])
        return row is not None and row.attempts >= 1

    await eventually(attempted)
    payment = await charged(gateway=quiet_gateway(pinned_id=pi))
    assert (payment.status, payment.provider_payment_id) == (PaymentStatus.PROCESSING, pi)
    await eventually(_reaches(early["id"], InboxStatus.PROCESSED))
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.SUCCEEDED


async def test_event_is_retried_with_backoff_then_parked(server):
    """Before the last attempt the actor asks Dramatiq to retry later; at the last it parks."""
    from tasks.stripe_events import MAX_ATTEMPTS, process_stripe_event

    orphan = event("payment_intent.succeeded", intent(new_id("pi")))
    row_id = await store_event("stripe", body_of(orphan), envelope_of(orphan))
    await WebhookEvent.filter(id=row_id).update(attempts=MAX_ATTEMPTS - 2)
    actor = inspect.unwrap(process_stripe_event.fn)
    with pytest.raises(dramatiq.Retry) as retry:
        await actor(row_id)
    assert retry.value.delay is not None and retry.value.delay > 0
    await actor(row_id)
    row = await WebhookEvent.get(id=row_id)
    assert (row.status, row.attempts) == (InboxStatus.PARKED, MAX_ATTEMPTS)


async def test_stranded_events_are_requeued_and_old_settled_ones_pruned(server, worker):
    """Sweeps re-enqueue unprocessed events (a lost retry too) and delete old settled ones."""
    from tasks.stripe_events import prune_webhook_events, requeue_stranded_stripe_events

    stranded, retried, expired = (
        event("customer.created", {"id": new_id("cus")}) for _ in range(3)
    )
    for stripe_event in (stranded, retried, expired):
        await store_event("stripe", body_of(stripe_event), envelope_of(stripe_event))
    long_ago = datetime.now(UTC) - timedelta(days=400)
    await WebhookEvent.filter(event_id__in=[stranded["id"], retried["id"], expired["id"]]).update(
        received_at=long_ago
    )
    # Attempted twice, and its delayed retry message vanished with a Redis restart.
    await WebhookEvent.filter(event_id=retried["id"]).update(attempts=2)
    await WebhookEvent.filter(event_id=expired["id"]).update(status=InboxStatus.PROCESSED)
    requeue_stranded_stripe_events.send()
    await eventually(_reaches(stranded["id"], InboxStatus.IGNORED))
    await eventually(_reaches(retried["id"], InboxStatus.IGNORED))
    prune_webhook_events.send()

    async def pruned() -> bool:
        return all([await _row(e["id"]) is None for e in (stranded, retried, expired)])

    await eventually(pruned)


async def test_cli_replays_a_parked_event_and_the_failed_ones(settings, database_url):
    """`payments webhooks replay` re-processes one event by id, or every failed/parked one."""
    payment = await charged()
    await Payment.filter(id=payment.id).update(provider_payment_id=None)
    pi = new_id("pi")
    early = event("payment_intent.succeeded", intent(pi))
    row_id = await store_event("stripe", body_of(early), envelope_of(early))
    await WebhookEvent.filter(id=row_id).update(status=InboxStatus.PARKED)
    env = settings_env(settings)
    still_missing = _replay(env, early["id"])
    assert (still_missing.returncode, still_missing.stdout) == (1, f"{early['id']} PARKED\n")
    await Payment.filter(id=payment.id).update(provider_payment_id=pi)
    replayed = _replay(env, "--failed")
    lines = replayed.stdout.splitlines()
    assert f"{early['id']} PROCESSED" in lines
    # Other tests' orphans may still be parked: the exit code says whether all settled.
    settled = all(line.split()[1] in {"PROCESSED", "IGNORED"} for line in lines)
    assert replayed.returncode == (0 if settled else 1), replayed.stderr
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.SUCCEEDED
    assert _replay(env, new_id("evt")).returncode == 1


def _replay(env: dict[str, str], target: str) -> subprocess.CompletedProcess[str]:
    env = {**env, "LOG_LEVEL": "ERROR"}
    command = [PAYMENTS, "webhooks", "replay", target]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
