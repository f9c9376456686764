"""Issue 31's new rows (18-20: PayPal and bank-transfer intents, PayPal webhooks), per revision.

Each row is measured twice in one run: on BENCH_BEFORE (the revision before issue 31), then on
this tree, each in a stack of its own. The before-revision's service code runs from a copy
of its tree (PYTHONPATH) with this run's venv and this run's bench/, so only the service
differs between the two.
"""

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.cpu import cpu_ms_per_request, cpu_seconds, process_tree
from bench.lifecycle import ORDER, Measured, intents_timed, posted
from bench.load import CONNECTIONS, WARMUP, Row, drained, events_file, wrk
from bench.stack import BIN, ROOT, Stack, bench_module, running_stack, serve_here
from payments.gateways.simulated.certificates import Authority, Issued

BEFORE = os.environ.get("BENCH_BEFORE", "f5e686d")
RAIL_REQUESTS = int(os.environ.get("BENCH_RAIL_REQUESTS", "2000"))
# More than both wrk runs of row 20 send, so no event is sent twice (a repeat is not stored).
PAYPAL_EVENTS = int(os.environ.get("BENCH_PAYPAL_EVENTS", "30000"))
VERIFICATIONS = int(os.environ.get("BENCH_VERIFICATIONS", "10000"))
WEBHOOK_ID = "WH-BENCH"
CERTIFICATE_PATH = "/v1/notifications/certs/CERT-bench"
CUSTOMER = (
    "mutation($i: CreateCustomerInput!, $k: String!) { createCustomer(input: $i, "
    "idempotencyKey: $k) { customer { id } errors { code } } }"
)


@contextmanager
def revision_tree(revision: str) -> Iterator[Path]:
    """`revision`'s tree with this run's bench/, in a directory removed on exit.

    Checked first: Python given PYTHONPATH=tree imports the service from the tree, and
    none of the modules only this tree has.
    """
    with tempfile.TemporaryDirectory(prefix=f"bench-{revision}-") as directory:
        tree = Path(directory)
        subprocess.run(
            f"git -C {shlex.quote(str(ROOT))} archive {shlex.quote(revision)} | tar -x -C "
            + shlex.quote(directory),
            shell=True,
            check=True,
        )
        shutil.copytree(ROOT / "bench", tree / "bench", dirs_exist_ok=True)
        _check_imports_from(tree)
        yield tree


def _check_imports_from(tree: Path) -> None:
    only_here = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in sorted((ROOT / "payments").rglob("*.py"))
        if not (tree / path.relative_to(ROOT)).exists()
    ]
    probe = (
        "import importlib.util, json, sys, payments\n"
        "def found(name):\n"
        "    try:\n"
        "        return importlib.util.find_spec(name) is not None\n"
        "    except ModuleNotFoundError:  # its package is missing too\n"
        "        return False\n"
        "print(json.dumps([payments.__file__, [n for n in sys.argv[1:] if found(n)]]))"
    )
    answer = subprocess.run(
        [str(BIN / "python"), "-c", probe, *only_here],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    imported, found = json.loads(answer.stdout)
    if not imported.startswith(f"{tree}/") or found:
        raise RuntimeError(f"PYTHONPATH={tree} imports {imported}, and {found} of this tree")


@dataclass(frozen=True)
class PayPalEvents:
    """Signed PayPal events in a file for webhooks.lua, and the settings that trust their signer."""

    path: Path
    settings: dict[str, str]


@asynccontextmanager
async def signed_paypal_events(count: int) -> AsyncIterator[PayPalEvents]:
    """`count` PayPal events signed by a certificate this process serves while they are used.

    As PayPal's own: the API fetches the certificate from an allowed URL (PAYPAL_CERT_HOSTS:
    http on loopback) once per worker, checks its chain against the anchors
    (PAYPAL_CERT_CA_FILE: a CA made here), and then verifies from its cache.
    """
    authority = Authority.create("Benchmark PayPal CA")
    signer = authority.issue("messageverificationcerts.bench")

    async def certificate(request: Request) -> Response:
        return Response(signer.certificate_pem, media_type="application/x-pem-file")

    app = Starlette(routes=[Route(CERTIFICATE_PATH, certificate)])
    async with serve_here(app) as url:
        with tempfile.TemporaryDirectory(prefix="bench-paypal-") as directory:
            anchors = Path(directory) / "anchors.pem"
            anchors.write_bytes(authority.certificate_pem)
            cert_url = url + CERTIFICATE_PATH
            path = events_file(_paypal_event(signer, cert_url) for _ in range(count))
            settings = {
                "PAYPAL_CERT_CA_FILE": str(anchors),
                "PAYPAL_CERT_HOSTS": urlsplit(url).netloc,
                "PAYPAL_WEBHOOK_ID": WEBHOOK_ID,
            }
            try:
                yield PayPalEvents(path, settings)
            finally:
                path.unlink()


def _paypal_event(signer: Issued, cert_url: str) -> tuple[dict[str, str], bytes]:
    # A type the service stores and then ignores: the row measures the route, not a payment.
    order_id = uuid.uuid4().hex[:17].upper()
    body = json.dumps(
        {
            "id": f"WH-BENCH-{uuid.uuid4().hex}",
            "event_version": "1.0",
            "create_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resource_type": "checkout-order",
            "resource_version": "2.0",
            "event_type": "CHECKOUT.ORDER.COMPLETED",
            "summary": "Checkout Order Completed",
            "resource": {"id": order_id, "status": "COMPLETED", "intent": "CAPTURE"},
        }
    ).encode()
    return signer.sign_paypal_webhook(body, cert_url, WEBHOOK_ID), body


async def rail_rows(token: str, root: Path, events: PayPalEvents) -> list[Row]:
    """Rows 18-20 in one stack running `root`'s code, after row 10's card intent for reference."""
    async with running_stack(root=root, settings=events.settings) as stack:
        # A bank transfer is paid into the customer's balance: the token's subject is one.
        answer = await posted(stack.api, token, CUSTOMER, {"email": "bench@example.com"})
        if not (answer.get("data") or {}).get("createCustomer", {}).get("customer"):
            raise RuntimeError(f"createCustomer failed: {answer}")
        rows = [
            await intent_row(
                stack, token, f"{number}. createPaymentIntent {method}, fresh keys", method
            )
            for number, method in (("10", "CARD"), ("18", "PAYPAL"), ("19", "BANK_TRANSFER"))
        ]
        rows.append(await paypal_webhooks(stack, events.path))
    return rows


async def intent_row(stack: Stack, token: str, name: str, method: str) -> Row:
    """RAIL_REQUESTS intents of `method` with fresh keys after a tenth as many to warm up.

    With the CPU each process spent per intent, what the intents caused included (drained).
    """
    intent = {**ORDER, "paymentMethodType": method}
    await intents_timed(stack.api, token, name, intent, RAIL_REQUESTS // 10, CONNECTIONS)
    await drained(stack)
    timed: list[Measured] = []

    async def intents() -> None:
        timed.append(
            await intents_timed(stack.api, token, name, intent, RAIL_REQUESTS, CONNECTIONS)
        )
        await drained(stack)

    costs = await cpu_ms_per_request(stack, RAIL_REQUESTS, intents)
    # PostgreSQL's share is left out: the server is shared with other work on this machine.
    spent = f"CPU ms per intent: API {costs['API']:.1f} / worker {costs['worker']:.1f}"
    return Row(*timed[0], target=spent)


async def paypal_webhooks(stack: Stack, events: Path) -> Row:
    """20. Signed PayPal events at POST /webhooks/paypal: events/s, API CPU µs per event.

    The warm-up fetches the certificate into each worker's cache; the measured run starts
    past the events the warm-up sent.
    """
    path, sent = "/webhooks/paypal", str(events)
    warm = await wrk(stack.api, "webhooks.lua", WARMUP, BENCH_EVENTS=sent, BENCH_PATH=path)
    api = process_tree(stack.processes["api"].pid)
    spent = sum(map(cpu_seconds, api))
    # Past the warm-up's answered events and those it still had in flight.
    first = str(warm["requests"] + CONNECTIONS)
    run = await wrk(
        stack.api, "webhooks.lua", BENCH_EVENTS=sent, BENCH_PATH=path, BENCH_FIRST=first
    )
    cpu_us = (sum(map(cpu_seconds, api)) - spent) * 1e6 / max(run["requests"], 1)
    stored = await stack.sql("SELECT count(*) FROM webhook_events WHERE provider = 'paypal'")
    return Row(
        "20. signed PayPal webhooks, cached certificate (events/s)",
        run["rps"],
        run["p50_us"] / 1000,
        run["p99_us"] / 1000,
        run["errors"],
        target=f"API CPU {cpu_us:.0f} µs/event; {warm['requests'] + run['requests']} answered, "
        f"{stored[0][0]} stored (a repeat would be verified, not stored)",
    )


async def verification_rows(root: Path, events: PayPalEvents) -> list[Row]:
    """20. `root`'s WebhookVerifier alone, in a process of its own: the best of its rounds."""
    answer = await bench_module(
        root, "bench.verification", str(events.path), str(VERIFICATIONS), env=events.settings
    )
    rounds = sorted(answer["us"])
    return [
        Row(
            "20. PayPal signature check alone, cached certificate (events/s, in-process)",
            1e6 / rounds[0],
            0,
            0,
            0,
            target=f"{rounds[0]:.0f} µs/event, the best of {len(rounds)} rounds over "
            f"{VERIFICATIONS} events (median {rounds[len(rounds) // 2]:.0f})",
        )
    ]


def beside(before: list[Row], now: list[Row], revision: str) -> list[Row]:
    """Each row of `revision` followed by the same row now, compared in the baseline column.

    A row's own baseline (Kafka's bare producer) moves to its target text.
    """
    rows = []
    for old, new in zip(before, now, strict=True):
        for row in (old, new):
            if row.baseline:
                row.target = f"own baseline {row.baseline} (ratio {row.ratio}); {row.target}"
        old.scenario = f"{old.scenario} @ {revision}"
        old.baseline = old.ratio = ""
        new.baseline = f"{revision}: {old.rps:.0f}/s"
        new.ratio = f"{new.rps / old.rps:.2f}" if old.rps else ""
        rows += [old, new]
    return rows
