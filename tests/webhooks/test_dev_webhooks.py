"""`payments dev` finishes asynchronous charges through its own signed-webhook path."""

import asyncio
import time
import uuid

from tests.app.test_dev_command import _gql, dev_server
from tests.graph.charging import CHARGE, charge_input

__all__ = ["dev_server"]  # the fixture: one `payments dev` process for this module

STATUS = "query($id: ID!) { payment(id: $id) { status failureCode events { source } } }"


async def _settled(url: str, token: str, payment_id: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        payment = (await _gql(url, token, STATUS, {"id": payment_id}))["payment"]
        if payment["status"] != "PROCESSING" or time.monotonic() > deadline:
            return payment
        await asyncio.sleep(0.2)


async def test_dev_processing_charges_settle_by_themselves(dev_server):
    """pm_sim_processing ends SUCCEEDED and pm_sim_processing_fails FAILED, by WEBHOOK."""
    url, token = dev_server
    ids = []
    for method in ("pm_sim_processing", "pm_sim_processing_fails"):
        variables = {"input": charge_input(paymentMethodId=method), "key": uuid.uuid4().hex}
        payment = (await _gql(url, token, CHARGE, variables))["chargePayment"]["payment"]
        assert payment["status"] == "PROCESSING"
        ids.append(payment["id"])
    succeeded, failed = [await _settled(url, token, payment_id) for payment_id in ids]
    assert succeeded["status"] == "SUCCEEDED"
    assert (failed["status"], failed["failureCode"]) == ("FAILED", "card_declined")
    assert succeeded["events"][-1]["source"] == failed["events"][-1]["source"] == "WEBHOOK"
