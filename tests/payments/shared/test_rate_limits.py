"""Budget keys of client addresses, and the RATE_LIMIT_ANONYMOUS setting."""

import pytest

from payments.shared.errors import SettingsError
from payments.shared.rate_limits import UNKNOWN_ADDRESS, address_key
from payments.shared.settings import load_settings


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("x" * 10_000, UNKNOWN_ADDRESS),
        (None, UNKNOWN_ADDRESS),
    ],
    ids=["ipv4", "ipv6", "same-64", "v4-mapped", "garbage", "no-address"],
)
def test_an_address_keys_its_budget_by_host_or_ipv6_64(address, key):
    """IPv4 by address, IPv6 by its /64, anything unreadable in one shared bounded key."""
    assert address_key(address) == key


def test_a_bad_anonymous_budget_names_the_variable():
    """RATE_LIMIT_ANONYMOUS must be in the `limits` notation or `off`."""
    common = {"database_url": "sqlite://x", "jwt_secret": "s", "stripe_webhook_secret": "whsec_x"}
    assert load_settings(**common, rate_limit_anonymous="off").rate_limit_anonymous == "off"
    with pytest.raises(SettingsError, match=r"^RATE_LIMIT_ANONYMOUS"):
        load_settings(**common, rate_limit_anonymous="lots")
