"""PayPal's signature check alone: µs per WebhookVerifier.verify with its certificate cached.

`python -m bench.verification EVENTS COUNT`, with bench.rails's PayPal settings in the
environment and PYTHONPATH naming the tree whose verifier is measured; prints a BENCH line.
"""

import asyncio
import json
import os
import sys
import time
from itertools import islice
from pathlib import Path

from payments.gateways.paypal.signature import WebhookVerifier, trust_anchors

ROUNDS = 5


async def verification_us(events: Path, count: int, rounds: int = ROUNDS) -> list[float]:
    """µs per verify of each round over the first `count` events, the certificate cached.

    Rounds, because the machine is shared: the best is the check's own cost.
    """
    anchors, tls = trust_anchors(Path(os.environ["PAYPAL_CERT_CA_FILE"]))
    verifier = WebhookVerifier(
        os.environ["PAYPAL_WEBHOOK_ID"],
        frozenset({os.environ["PAYPAL_CERT_HOSTS"]}),
        anchors,
        tls,
    )
    with events.open() as file:
        signed = [_signed(line) for line in islice(file, count)]
    await verifier.verify(*signed[0])  # fetches the certificate into the cache
    spent = []
    for _ in range(rounds):
        started = time.perf_counter()
        for headers, body in signed:
            await verifier.verify(headers, body)
        spent.append((time.perf_counter() - started) * 1e6 / len(signed))
    return spent


def _signed(line: str) -> tuple[dict[str, str], bytes]:
    """A line of bench.load.events_file: its headers (names lower-cased, as HTTP has them)."""
    header_block, body = line.rstrip("\n").split("\t", 1)
    pairs = (header.split(": ", 1) for header in header_block.split("|"))
    return {name.lower(): value for name, value in pairs}, body.encode()


if __name__ == "__main__":
    microseconds = asyncio.run(verification_us(Path(sys.argv[1]), int(sys.argv[2])))
    print("BENCH " + json.dumps({"us": microseconds}))
