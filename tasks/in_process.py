"""An in-process broker for `payments dev`: actors run as tasks on the API's event loop."""

import asyncio
import inspect
import random
from typing import Any

import dramatiq
import structlog
from dramatiq.message import Message

log = structlog.get_logger(__name__)

DEFAULT_MAX_RETRIES = 20


class InProcessBroker(dramatiq.Broker):
    """Runs each message as an asyncio task, retrying with backoff like the Retries middleware.

    Without Redis there is no other process to hand work to; running the same
    actors on the one loop keeps `payments dev` a single zero-set-up process.
    Messages live in memory only: the outbox relay's sweep re-enqueues after a restart.
    """

    def __init__(self) -> None:
        super().__init__()  # default middleware: it declares the actor options (max_retries...)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def declare_actor(self, actor: dramatiq.Actor[Any, Any]) -> None:
        self.emit_before("declare_actor", actor)
        self.declare_queue(actor.queue_name)
        self.actors[actor.actor_name] = actor
        self.emit_after("declare_actor", actor)

    def declare_queue(self, queue_name: str) -> None:
        self.queues[queue_name] = None

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        if self.loop is None:
            raise RuntimeError("InProcessBroker.start(loop) was not called")
        self.loop.call_soon_threadsafe(self._spawn, message, (delay or 0) / 1000)
        return message

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 30000) -> Any:
        raise NotImplementedError("the in-process broker runs messages itself")

    def get_declared_queues(self) -> set[str]:
        return set(self.queues)

    def get_declared_delay_queues(self) -> set[str]:
        return set()

    def flush(self, queue_name: str) -> None:
        return None

    def flush_all(self) -> None:
        return None

    def join(self, queue_name: str, *, timeout: int | None = None) -> None:
        return None

    def _spawn(self, message: Message[Any], delay_seconds: float) -> None:
        task = asyncio.get_running_loop().create_task(self._run(message, delay_seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, message: Message[Any], delay_seconds: float) -> None:
        actor = self.get_actor(message.actor_name)
        max_retries = actor.options.get("max_retries", DEFAULT_MAX_RETRIES)
        for attempt in range(max_retries + 1):
            await asyncio.sleep(delay_seconds)
            try:
                # Dramatiq wraps async actors to run on its loop thread; we are on a loop already.
                result = inspect.unwrap(actor.fn)(*message.args, **message.kwargs)
                if inspect.isawaitable(result):
                    await result
                return
            except Exception as exc:  # an actor failure is retried, as on a real worker
                log.warning(
                    "actor_failed", actor=actor.actor_name, attempt=attempt, error=repr(exc)
                )
                delay_seconds = min(2**attempt, 60) * random.uniform(0.5, 1.0)
        log.error("actor_gave_up", actor=actor.actor_name, message_id=message.message_id)
