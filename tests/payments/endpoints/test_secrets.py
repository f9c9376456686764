"""After a rotation the replaced secret signs too, for the grace period and not after."""

from datetime import UTC, datetime, timedelta

from models.endpoint import EventEndpoint
from payments.endpoints.service import destination_of, new_secret


def _rotated(grace_left: timedelta) -> EventEndpoint:
    return EventEndpoint(
        id="ep_rotated",
        url="https://hooks.example.com/e",
        event_types=["*"],
        secret="whsec_bmV3",
        previous_secret="whsec_b2xk",
        previous_secret_until=datetime.now(UTC) + grace_left,
        consecutive_dead=0,
    )


def test_the_old_secret_signs_during_the_grace_period_only():
    """Both secrets while the grace lasts (the new one first); the new one alone after it."""
    assert destination_of(_rotated(timedelta(hours=1))).secrets == ("whsec_bmV3", "whsec_b2xk")
    assert destination_of(_rotated(timedelta(seconds=-1))).secrets == ("whsec_bmV3",)


def test_new_secrets_are_standard_webhooks_secrets_and_never_repeat():
    """whsec_ and 24 random bytes in base64, different each time."""
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(s.startswith("whsec_") and len(s) == len("whsec_") + 32 for s in secrets)
