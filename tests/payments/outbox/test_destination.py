"""An endpoint's filter: exact event types and prefixes ending in `*`."""

from payments.outbox.destination import Destination


def test_filters_match_exact_names_and_trailing_stars_only():
    """`payment.*` takes every payment event, an exact name only itself, `*` everything."""
    prefix = Destination("ep", "u", event_types=("payment.*",))
    exact = Destination("ep", "u", event_types=("payment.refunded",))
    assert prefix.wants("payment.succeeded") and prefix.wants("payment.refunded")
    assert not prefix.wants("dispute.created")
    assert exact.wants("payment.refunded") and not exact.wants("payment.partially_refunded")
    assert Destination("ep", "u").wants("dispute.created")
