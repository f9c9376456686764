"""The keyed gateway call every money operation makes: claim, replay, hold, call, commit."""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from models.enums import Operation
from models.idempotency import IdempotencyKey
from payments.idempotency.keys import (
    KeyPolicy,
    claim_key,
    complete_alone,
    raise_stored_error,
    release_key,
)
from payments.shared import metrics
from payments.shared.errors import GatewayUnavailable, PaymentsError

Held = TypeVar("Held")
Answer = TypeVar("Answer")
Answered = TypeVar("Answered", contravariant=True)
Outcome = TypeVar("Outcome")


@dataclass(frozen=True)
class KeyClaim:
    """Whose key, for which operation, and the digest of the request it was first sent with."""

    principal: str
    operation: Operation
    key: str
    fingerprint: str
    policy: KeyPolicy


@dataclass(frozen=True)
class GatewayMetric(Generic[Answered]):
    """How the call is timed: the gateway's name, the call's name and an answer's outcome."""

    gateway: str
    call: str
    outcome: Callable[[Answered], str]


class StatusAnswer(Protocol):
    """A gateway's answer that carries the state it left the payment or refund in."""

    @property
    def status(self) -> Enum: ...


WithStatus = TypeVar("WithStatus", bound=StatusAnswer)


def status_metric(gateway: str, call: str) -> GatewayMetric[WithStatus]:
    """A money call's metric: its outcome is the status the gateway answered, lower-cased."""
    return GatewayMetric(gateway, call, _status_outcome)


def _status_outcome(answer: StatusAnswer) -> str:
    return str(answer.status.value).lower()


async def hold_key(key: IdempotencyKey) -> IdempotencyKey:
    """`hold` for a call that reserves nothing beforehand: it holds only its key."""
    return key


async def _store_refusal(key: IdempotencyKey, held: Any, error: PaymentsError) -> None:
    await complete_alone(key, error)


@dataclass(frozen=True)
class KeyedCall(Generic[Held, Answer, Outcome]):
    """One operation's steps, which `run_keyed` orders around the key it owns.

    `hold` creates or reserves what the call acts on, naming it on the key (or finds what a
    crashed request left); a business error it stores on the key is raised from it.
    `settled` says a webhook or the reconciler finished it meanwhile: the gateway is then
    not called and `commit` gets no answer. `refusals` are gateway errors that `refuse`
    stores on the key (by default only that) before they are raised.
    """

    replay: Callable[[IdempotencyKey], Awaitable[Outcome]]
    hold: Callable[[IdempotencyKey], Awaitable[Held]]
    call: Callable[[Held], Awaitable[Answer]]
    commit: Callable[[IdempotencyKey, Held, Answer | None], Awaitable[Outcome]]
    settled: Callable[[Held], bool] = lambda held: False
    refusals: tuple[type[PaymentsError], ...] = ()
    refuse: Callable[[IdempotencyKey, Held, PaymentsError], Awaitable[object]] = _store_refusal
    metric: GatewayMetric[Answer] | None = None


async def run_keyed(claim: KeyClaim, steps: KeyedCall[Held, Answer, Outcome]) -> Outcome:
    """Make the call once per key, however often and concurrently the client retries.

    A completed key replays its first answer, a stored error included. Raises
    IdempotencyKeyReused / IdempotencyKeyInUse, the operation's stored errors, or
    GatewayUnavailable (the key is released: a retry with it resumes what was held).
    """
    key = await claim_key(
        claim.principal, claim.operation, claim.key, claim.fingerprint, claim.policy
    )
    if key.completed_at is not None:
        raise_stored_error(key)
        return await steps.replay(key)
    held = await steps.hold(key)
    if steps.settled(held):
        return await steps.commit(key, held, None)
    answer = await _call_gateway(key, held, steps)
    return await steps.commit(key, held, answer)


async def _call_gateway(
    key: IdempotencyKey, held: Held, steps: KeyedCall[Held, Answer, Outcome]
) -> Answer:
    # No transaction or lock is held here: a slow gateway must not pin database rows.
    started = time.perf_counter()
    try:
        answer = await steps.call(held)
    except GatewayUnavailable:
        _observe(steps.metric, "unavailable", started)
        await release_key(key)
        raise
    except steps.refusals as error:
        _observe(steps.metric, "refused", started)
        await steps.refuse(key, held, error)
        raise
    if steps.metric is not None:
        _observe(steps.metric, steps.metric.outcome(answer), started)
    return answer


def _observe(metric: GatewayMetric[Any] | None, outcome: str, started: float) -> None:
    if metric is not None:
        metrics.observe_gateway_call(metric.gateway, metric.call, outcome, started)
