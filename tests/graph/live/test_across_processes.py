"""Subscribers on `payments serve --workers 2` get every change of their own payments, in order."""

import asyncio
from contextlib import AsyncExitStack

import httpx

from tests.conftest import settings_env
from tests.graph.charging import charge, refund
from tests.graph.live.client import PAYMENTS_UPDATED, LiveClient, live_client
from tests.processes import api_process
from tests.support import new_subject, token

CLIENTS_PER_OWNER = 4  # uvicorn's workers share the socket: both get some of them


def _sequences(pushed: list[dict]) -> dict[str, list[tuple[int, str]]]:
    sequences: dict[str, list[tuple[int, str]]] = {}
    for payment in pushed:
        sequences.setdefault(payment["id"], []).append((payment["version"], payment["status"]))
    return sequences


async def _clients(stack: AsyncExitStack, url: str, owner: str) -> list[LiveClient]:
    clients = [
        await stack.enter_async_context(live_client(url, token(owner)))
        for _ in range(CLIENTS_PER_OWNER)
    ]
    for client in clients:
        await client.subscribe(PAYMENTS_UPDATED)
    return clients


async def _changes(http: httpx.AsyncClient, owner: str) -> dict[str, list[tuple[int, str]]]:
    """20 card charges, a webhook-finished one, and two refunds of one charge; what each became."""
    charges = await asyncio.gather(*(charge(http, owner) for _ in range(20)))
    expected = {c["payment"]["id"]: [(2, "SUCCEEDED")] for c in charges}
    slow = (await charge(http, owner, paymentMethodId="pm_sim_processing"))["payment"]
    expected[slow["id"]] = [(2, "PROCESSING"), (3, "SUCCEEDED")]
    refunded = charges[0]["payment"]["id"]
    await asyncio.sleep(1)  # the charge's own push first: later versions never overtake it
    await refund(http, owner, refunded, amount=100)
    await asyncio.sleep(1)
    await refund(http, owner, refunded)
    expected[refunded] += [(3, "PARTIALLY_REFUNDED"), (4, "REFUNDED")]
    return expected


async def test_subscribers_on_both_processes_get_their_changes_once_in_order(settings, worker):
    """Each of the owner's subscribers gets every version once, in order; a stranger's none."""
    owner, stranger = new_subject(), new_subject()
    async with (
        api_process(settings_env(settings), "--workers", "2") as api,
        AsyncExitStack() as stack,
    ):
        mine = await _clients(stack, api.url, owner)
        theirs = await _clients(stack, api.url, stranger)
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
            expected = await _changes(http, owner)
        received = await asyncio.gather(*(client.pushes(until=3) for client in mine + theirs))
    for pushed in received[:CLIENTS_PER_OWNER]:
        assert _sequences(pushed) == expected
    assert all(pushed == [] for pushed in received[CLIENTS_PER_OWNER:])
