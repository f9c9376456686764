"""The card-number guard reads card numbers as they are printed, and ids as ids."""

import json
import logging
import random
import re
import uuid
from collections.abc import Iterator

import pytest
import structlog

from models.ids import new_payment_id
from payments.platform.logs import configure_logging, redact
from payments.shared.correlation import accept_request_id, bind_payment_id, bind_request_id
from payments.shared.errors import ValidationFailed
from payments.shared.input_rules import check_identifier
from payments.shared.sensitive import (
    EMAIL_PATTERN,
    SECRET_PATTERN,
    contains_card_number,
    mask_card_numbers,
    may_hold_sensitive,
)

# Stripe's test card numbers, one or more per brand, with the grouping each is printed in.
STRIPE_TEST_CARDS = {
    "4242424242424242": (4, 4, 4, 4),  # Visa
    "4000056655665556": (4, 4, 4, 4),  # Visa debit
    "4222222222222": (),  # Visa, 13 digits, printed whole
    "5555555555554444": (4, 4, 4, 4),  # Mastercard
    "2223003122003222": (4, 4, 4, 4),  # Mastercard 2-series
    "5200828282828210": (4, 4, 4, 4),  # Mastercard debit
    "378282246310005": (4, 6, 5),  # American Express
    "371449635398431": (4, 6, 5),  # American Express
    "6011111111111117": (4, 4, 4, 4),  # Discover
    "6011000990139424": (4, 4, 4, 4),  # Discover
    "3056930009020004": (4, 4, 4, 4),  # Diners Club
    "36227206271667": (4, 6, 4),  # Diners Club, 14 digits
    "3566002020360505": (4, 4, 4, 4),  # JCB
    "6200000000000005": (4, 4, 4, 4),  # UnionPay
    "6205500000000000004": (4, 4, 4, 4, 3),  # UnionPay, 19 digits
    "6759649826438453": (4, 4, 4, 4),  # Maestro
}


def _printed(number: str, groups: tuple[int, ...], separator: str) -> str:
    pieces, start = [], 0
    for size in groups:
        pieces.append(number[start : start + size])
        start += size
    return separator.join(pieces)


CARD_NUMBERS = [
    *STRIPE_TEST_CARDS,
    *(_printed(n, g, " ") for n, g in STRIPE_TEST_CARDS.items() if g),
    *(_printed(n, g, "-") for n, g in STRIPE_TEST_CARDS.items() if g),
]
# The old guard refused every Luhn-valid 13-digit run: one in ten of these order ids.
ORDER_IDS = [f"o-123456789-{last:04d}" for last in range(10_000)]
IDS = [
    "INV-2025-001200018",
    "o-737373737-0001",
    "42424242424242424242",  # 20 digits: a timestamp or sequence id, too long for a card
    "17650428000001234567",
    "1765042800000123456789",
    "pay_4242424242424242aaaaaaaaaaaa",
    "ord_4242424242424242x",
    "order 9999 9999 9999 9995",  # card-shaped and Luhn-valid, but no brand starts with 9
    "1234 5678 9012 3456",
    *(new_payment_id() for _ in range(2_000)),
    *(str(uuid.uuid4()) for _ in range(2_000)),
    *(uuid.uuid4().hex for _ in range(2_000)),
    *(f"req-{uuid.uuid4().int % 10**20:020d}" for _ in range(2_000)),
]


@pytest.mark.parametrize("card", CARD_NUMBERS)
@pytest.mark.parametrize("around", ["{}", "card {}", "pm_{}", "x_{}", "({}),", "{} 12/34 123"])
def test_card_numbers_are_found_in_every_printed_form(card, around):
    """A test card number, contiguous or in its printed groups, is found wherever it sits."""
    text = around.format(card)
    assert contains_card_number(text)
    assert card not in redact(text)
    with pytest.raises(ValidationFailed, match="orderId must not contain a card number"):
        check_identifier(text, "orderId")


def test_ids_are_not_card_numbers():
    """Order references, long numbers, payment and request ids and uuids all pass the guard."""
    ids = ORDER_IDS + IDS
    assert [text for text in ids if contains_card_number(text)] == []
    assert [text for text in ids if redact(f"id={text}.") != f"id={text}."] == []
    for text in ids:
        check_identifier(text, "orderId")
    headers = [text for text in ids if " " not in text and len(text) <= 128]
    assert [text for text in headers if accept_request_id(text) != text] == []


def test_text_the_quick_test_passes_holds_nothing_to_mask():
    """may_hold_sensitive is False only where every pattern would leave the text whole.

    Random text from the characters the patterns read (digits, separators, secret and
    email pieces), and every card form, id and secret above.
    """
    rng = random.Random(31)
    pieces = [*"0123456789", " ", "-", "_", "@", ".", "x", "sk_live_", "rk_test_", "whsec_", "eyJ"]
    texts = ["".join(rng.choices(pieces, k=rng.randint(1, 40))) for _ in range(30_000)]
    texts += [f"card {card}." for card in CARD_NUMBERS] + ORDER_IDS + IDS
    texts += ["sk_live_abc123", "rk_test_x", "whsec_dGVzdA==", "eyJa.eyJb.c", "a@b.io"]
    masked = 0
    for text in texts:
        whole = SECRET_PATTERN.sub("[REDACTED]", mask_card_numbers(text, "[REDACTED]"))
        if EMAIL_PATTERN.sub("[REDACTED]", whole) != text:
            masked += 1
            assert may_hold_sensitive(text), text
    assert masked > 1_000  # the random texts did reach every pattern
    assert not may_hold_sensitive("2026-12-07T04:15:17.123456Z")


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Whatever a test configures, the process's logging set-up is put back after it."""
    root, tortoise = logging.getLogger(), logging.getLogger("tortoise")
    saved = (root.handlers[:], root.level, tortoise.level)
    yield
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
    root.handlers[:], root.level = saved[0], saved[1]
    tortoise.setLevel(saved[2])


def test_ids_reach_a_log_line_whole_and_card_numbers_do_not(restored_logging, capsys):
    """One JSON log line keeps its payment, request and order ids and masks the card number."""
    configure_logging("INFO", "json")
    bind_request_id("req-17650428000001234567")
    bind_payment_id("pay_019af00000001234567890ab")
    order_id = "o-123456789-0003"  # Luhn-valid as 13 digits: the old guard cut it
    structlog.get_logger("test").info(
        f"charged {order_id} with 4242 4242 4242 4242", order_id=order_id
    )
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["message"] == "charged o-123456789-0003 with [REDACTED]"
    assert line["request_id"] == "req-17650428000001234567"
    assert line["payment_id"] == "pay_019af00000001234567890ab"
    assert line["order_id"] == "o-123456789-0003"
    assert not re.search(r"4242.?4242.?4242.?4242", json.dumps(line))
