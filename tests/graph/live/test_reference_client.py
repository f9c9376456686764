"""graphql-ws's reference client on one API process sees every version made through another."""

import httpx

from tests.conftest import settings_env
from tests.graph.live.reference import (
    assert_every_version_pushed,
    reference_subscriber,
    watched_runs,
)
from tests.processes import WorkerProcess, api_process
from tests.support import new_subject, token

RUNS = 10
# Beside the session's worker: relays that claim a payment's versions in separate batches
# publish them in any order, which the hubs must put right.
MORE_RELAYS = ("--processes", "2", "--threads", "2")


async def test_back_to_back_versions_reach_a_subscriber_on_another_process(
    settings, worker, reference_clients
):
    """A charge and two partial refunds, back to back, ten times: versions 2, 3, 4 each pushed."""
    owner = new_subject()
    env = settings_env(settings)
    with WorkerProcess.start(env, MORE_RELAYS):
        async with (
            api_process(env) as watched,
            api_process(env) as changed,
            reference_subscriber(reference_clients, watched.url, token(owner)) as subscriber,
            httpx.AsyncClient(base_url=changed.url, timeout=30) as http,
        ):
            runs = await watched_runs(subscriber, http, token(owner), RUNS)
    assert_every_version_pushed(subscriber, runs)
