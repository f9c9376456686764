"""The process's Runtime (settings, gateway) for actors, set once at worker boot or app start."""

from payments.runtime import Runtime

_runtime: Runtime | None = None


def set_actor_runtime(runtime: Runtime) -> None:
    global _runtime
    _runtime = runtime


def actor_runtime() -> Runtime:
    """The Runtime actors use; a worker or app that forgot to set it fails loudly."""
    if _runtime is None:
        raise RuntimeError(
            "tasks.actor_runtime.set_actor_runtime(...) was not called in this process"
        )
    return _runtime
