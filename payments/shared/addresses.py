"""Which IP addresses are public: what an outgoing request may reach from inside the cluster."""

import ipaddress


def is_public(text: str) -> bool:
    """Whether an address is globally routable, seen through an IPv4-mapped IPv6 form.

    Loopback, private, link-local (the cloud metadata service at 169.254.169.254),
    carrier-grade NAT, unspecified, reserved and multicast addresses are not.
    """
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(str(address.ipv4_mapped))  # ::ffff:127.0.0.1 reaches 127.0.0.1
    return address.is_global and not address.is_multicast
