"""Detects card numbers and secrets in free text so they are never stored or logged."""

import re

_CANDIDATE = re.compile(r"(?:\d[ -]?){12,18}\d")
SECRET_PATTERN = re.compile(
    r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9+/=]+|\beyJ[\w-]+\.[\w-]+\.[\w-]+"
)

# Personal data: an address anywhere in free text (a log line, an error message).
EMAIL_PATTERN = re.compile(r"[\w.+%-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def contains_secret(text: str) -> bool:
    """True when `text` holds an API key, a webhook secret or a JWT."""
    return SECRET_PATTERN.search(text) is not None


def contains_card_number(text: str) -> bool:
    """True when `text` holds a 13-19 digit run (spaces/dashes allowed) passing the Luhn check."""
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn_valid(digits):
            return True
    return False
