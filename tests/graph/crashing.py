"""Helpers of the crash-safety tests: a `payments serve` on the fake Stripe, and waiting."""

import asyncio

from tests.conftest import settings_env


def stripe_env(settings, stripe_url: str) -> dict[str, str]:
    """The environment of a `payments serve` that charges through the fake Stripe."""
    env = settings_env(settings)
    return {
        **env,
        "GATEWAY": "stripe",
        "STRIPE_API_KEY": "sk_test_x",
        "STRIPE_API_BASE": stripe_url,
    }


async def wait_for(condition, what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
