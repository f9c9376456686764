"""The keyed-call runner: one gateway call per key, refusals replayed, outages resumable."""

import uuid
from dataclasses import dataclass, field, replace

import pytest

from models.enums import Operation
from models.idempotency import IdempotencyKey
from payments.idempotency.keyed_call import KeyClaim, KeyedCall, hold_key, run_keyed
from payments.idempotency.keys import KeyPolicy, complete_alone
from payments.shared.errors import (
    GatewayUnavailable,
    IdempotencyKeyInUse,
    PaymentNotRefundable,
    ReplayedError,
)

pytestmark = pytest.mark.usefixtures("database_url")


@dataclass
class ScriptedGateway:
    """Answers each call with the next scripted answer, raising it when it is an error."""

    answers: list[str | Exception]
    calls: int = 0
    holds: list[str | None] = field(default_factory=list)

    async def hold(self, key: IdempotencyKey) -> IdempotencyKey:
        self.holds.append(key.resource_id)
        key.resource_id = key.resource_id or "held"
        await key.save(update_fields=["resource_id"])
        return key

    async def call(self, key: IdempotencyKey) -> str:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def steps(self) -> KeyedCall[IdempotencyKey, str, str]:
        async def commit(key: IdempotencyKey, held: IdempotencyKey, answer: str | None) -> str:
            await complete_alone(key)
            return answer or "settled"

        async def replay(key: IdempotencyKey) -> str:
            return "replayed"

        return KeyedCall(
            replay=replay,
            hold=self.hold,
            call=self.call,
            commit=commit,
            refusals=(PaymentNotRefundable,),
        )


def _claim(key: str) -> KeyClaim:
    return KeyClaim(f"user_{uuid.uuid4().hex}", Operation.REFUND, key, "digest", KeyPolicy())


async def test_a_completed_key_replays_without_calling_the_gateway_again() -> None:
    """A second request with the key gets the replay, and the gateway is called once."""
    gateway, claim = ScriptedGateway(["answered"]), _claim("k1")
    assert await run_keyed(claim, gateway.steps()) == "answered"
    assert await run_keyed(claim, gateway.steps()) == "replayed"
    assert gateway.calls == 1


async def test_a_gateway_refusal_is_stored_and_answered_again_to_a_retry() -> None:
    """The refusal is raised, then replayed with its code without a second gateway call."""
    gateway, claim = ScriptedGateway([PaymentNotRefundable("No.", field="paymentId")]), _claim("k")
    with pytest.raises(PaymentNotRefundable):
        await run_keyed(claim, gateway.steps())
    with pytest.raises(ReplayedError) as replayed:
        await run_keyed(claim, gateway.steps())
    assert (replayed.value.code, replayed.value.field, gateway.calls) == (
        "PAYMENT_NOT_REFUNDABLE",
        "paymentId",
        1,
    )


async def test_an_outage_releases_the_key_so_a_retry_resumes_what_was_held() -> None:
    """After GatewayUnavailable the same key is not in use: the retry finds its hold and calls."""
    gateway, claim = ScriptedGateway([GatewayUnavailable(), "answered"]), _claim("k")
    with pytest.raises(GatewayUnavailable):
        await run_keyed(claim, gateway.steps())
    assert await run_keyed(claim, gateway.steps()) == "answered"
    assert (gateway.holds, gateway.calls) == ([None, "held"], 2)


async def test_a_key_whose_call_is_under_way_is_in_use() -> None:
    """While the first request holds the key, a concurrent one gets IdempotencyKeyInUse."""
    claim = _claim("k")
    inner = ScriptedGateway(["inner"])

    async def call_while_held(key: IdempotencyKey) -> str:
        with pytest.raises(IdempotencyKeyInUse):
            await run_keyed(claim, inner.steps())
        return "outer"

    steps = replace(ScriptedGateway([]).steps(), hold=hold_key, call=call_while_held)
    assert await run_keyed(claim, steps) == "outer"
    assert inner.calls == 0
