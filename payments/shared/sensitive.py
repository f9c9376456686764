"""Detects card numbers and secrets in free text so they are never stored or logged."""

import re
from collections.abc import Iterator

# What a card number looks like (DESIGN, "The seams"): 13-19 digits in a row, or the groups
# cards are printed in with one space or dash between them, 4-6-4 being Diners' 14 digits.
# Neither end may touch a letter or digit, so ids such as `o-123456789-1234`,
# `INV-2025-001200018` or a 20-digit number are never read as one.
_SHAPES = (
    r"[0-9]{13,19}",
    r"[0-9]{4}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{4}",
    r"[0-9]{4}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{3}",
    r"[0-9]{4}(?P<s>[ -])[0-9]{6}(?P=s)[0-9]{5}",
    r"[0-9]{4}(?P<s>[ -])[0-9]{6}(?P=s)[0-9]{4}",
)
# Each shape is searched on its own: `4242 4242 4242 4242 123` is a 19-digit grouping, and
# when that one fails Luhn it is still a 16-digit card followed by its CVC.
_CARD_SHAPES = tuple(re.compile(rf"(?<![^\W_])(?:{shape})(?![^\W_])") for shape in _SHAPES)
# Issuer prefixes (first and last of each range, compared on the leading digits).
_BRAND_PREFIXES = (
    ("4", "4"),  # Visa
    ("51", "55"),  # Mastercard
    ("2221", "2720"),  # Mastercard's 2-series
    ("34", "34"),  # American Express
    ("37", "37"),  # American Express
    ("6011", "6011"),  # Discover
    ("644", "649"),  # Discover
    ("65", "65"),  # Discover, RuPay
    ("300", "305"),  # Diners Club
    ("3095", "3095"),  # Diners Club
    ("36", "36"),  # Diners Club
    ("38", "39"),  # Diners Club
    ("3528", "3589"),  # JCB
    ("62", "62"),  # UnionPay
    ("81", "81"),  # UnionPay
    ("50", "50"),  # Maestro
    ("56", "58"),  # Maestro
    ("63", "63"),  # Maestro
    ("67", "67"),  # Maestro
    ("2200", "2204"),  # Mir
    ("60", "60"),  # RuPay
)

SECRET_PATTERN = re.compile(
    r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9+/=]+|\beyJ[\w-]+\.[\w-]+\.[\w-]+"
)

# Personal data: an address anywhere in free text (a log line, an error message).
EMAIL_PATTERN = re.compile(r"[\w.+%-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

# What every match of the patterns above contains: 13 digits in a row or the start of a
# printed grouping, a secret's prefix, an @. One search for these is what most text costs.
_ANY_PATTERN_NEEDS = re.compile(r"[0-9]{13}|[0-9]{4}[ -][0-9]{4}|[rs]k_(?:live|test)_|whsec_|eyJ|@")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _has_brand_prefix(digits: str) -> bool:
    return any(low <= digits[: len(low)] <= high for low, high in _BRAND_PREFIXES)


def _card_number_spans(text: str) -> Iterator[tuple[int, int]]:
    if not may_hold_sensitive(text):
        return
    for shape in _CARD_SHAPES:
        for match in shape.finditer(text):
            digits = re.sub(r"[ -]", "", match.group())
            if _has_brand_prefix(digits) and _luhn_valid(digits):
                yield match.span()


def may_hold_sensitive(text: str) -> bool:
    """False when no card number, secret or email can be in `text` (most text): a cheap test."""
    return _ANY_PATTERN_NEEDS.search(text) is not None


def contains_secret(text: str) -> bool:
    """True when `text` holds an API key, a webhook secret or a JWT."""
    return SECRET_PATTERN.search(text) is not None


def contains_card_number(text: str) -> bool:
    """True when `text` holds a card number: card-shaped, a brand's prefix and Luhn-valid."""
    return next(_card_number_spans(text), None) is not None


def mask_card_numbers(text: str, mask: str) -> str:
    """`text` with every card number in it replaced by `mask`, the rest left whole."""
    spans = sorted(_card_number_spans(text))
    if not spans:
        return text
    pieces, end = [], 0
    for start, stop in spans:
        if start >= end:
            pieces.append(text[end:start])
            pieces.append(mask)
            end = stop
        elif stop > end:
            end = stop  # overlapping shapes (16 digits inside a 19-digit grouping): one mask
    pieces.append(text[end:])
    return "".join(pieces)
