"""Each endpoint's delivery batches run in a lane of their own, off the worker's threads.

A Dramatiq worker runs an async actor on its event loop while one of its few threads waits
for it. A batch to an endpoint that answers slowly would hold that thread for as long, and
a few such endpoints would hold them all, delaying every other endpoint's events. So the
delivery actor only starts the batch here and returns: the batch runs as a task of the
event loop, at most LANE_BATCHES per endpoint at once (the rest wait their turn in the
lane without holding a thread, a database connection or a row), and nothing an endpoint
does delays another's.
"""

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

# Batches of one endpoint running at once in a process (each POSTs its payments concurrently).
LANE_BATCHES = 4


class Lanes:
    """Per-endpoint task lanes of one process; `drain` lets them finish at shutdown."""

    def __init__(self, batches_per_lane: int = LANE_BATCHES) -> None:
        self.batches_per_lane = batches_per_lane
        self._lanes: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.batches_per_lane)
        )
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, endpoint: str, batch: Callable[[], Awaitable[None]]) -> None:
        """Run `batch` in the endpoint's lane, as a task of the running event loop."""
        task = asyncio.get_running_loop().create_task(self._run(endpoint, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, endpoint: str, batch: Callable[[], Awaitable[None]]) -> None:
        async with self._lanes[endpoint]:
            try:
                await batch()
            except Exception as exc:
                # What it left claimed is due again after its lease: the relay's sweep
                # re-sends it, as it does a lost message's.
                log.warning("delivery_batch_failed", consumer=endpoint, error=repr(exc))

    async def drain(self, seconds: float) -> None:
        """Wait up to `seconds` for running batches, then cancel the rest."""
        tasks = list(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
