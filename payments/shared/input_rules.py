"""Rules every text field of a request obeys: lengths, no card numbers or secrets, metadata."""

from datetime import UTC, datetime
from typing import Any

from payments.shared.errors import PaymentsError, ValidationFailed
from payments.shared.sensitive import contains_card_number, contains_secret

MAX_ID_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 1000
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500


def is_storable(value: str) -> bool:
    """Text PostgreSQL can store: no NUL character and no unpaired UTF-16 surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(value: str) -> str:
    """`value` with NUL and unpaired surrogates replaced, for text we keep about bad input."""
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def as_utc(moment: datetime) -> datetime:
    """A time without an offset is read as UTC, the zone every stored time is in."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def could_be_id(value: str, max_length: int = MAX_ID_LENGTH) -> bool:
    """Whether any stored row could have this id; one that cannot simply reads as not found."""
    return 0 < len(value) <= max_length and is_storable(value)


def check_text(value: str, field: str, max_length: int) -> None:
    """Storable text of at most `max_length` characters, or ValidationFailed naming `field`."""
    if not is_storable(value):
        raise ValidationFailed(
            f"{field} must not contain NUL characters or unpaired surrogates.", field=field
        )
    if len(value) > max_length:
        raise ValidationFailed(f"{field} must be at most {max_length} characters.", field=field)


def collect(errors: list[PaymentsError], check: Any) -> Any:
    """Run one check; its error joins `errors` so that every problem is reported at once."""
    try:
        return check()
    except PaymentsError as error:
        errors.append(error)
        return None


def check_identifier(value: str, field: str) -> None:
    """An id chosen by the client: 1 to 255 characters, no card number or secret."""
    check_length(value, field)
    check_text(value, field, MAX_ID_LENGTH)
    reject_sensitive(value, field)


def check_length(value: str, field: str) -> None:
    """Not blank and at most MAX_ID_LENGTH characters."""
    if not value.strip() or len(value) > MAX_ID_LENGTH:
        raise ValidationFailed(f"{field} must be 1 to {MAX_ID_LENGTH} characters.", field=field)


def check_description(value: str | None) -> None:
    """At most MAX_DESCRIPTION_LENGTH characters, no card number or secret."""
    if value is None:
        return
    check_text(value, "description", MAX_DESCRIPTION_LENGTH)
    reject_sensitive(value, "description")


def check_metadata(metadata: dict[str, Any] | None) -> None:
    """Stripe's limits: 50 keys of up to 40 characters, flat values of up to 500."""
    if metadata is None:
        return
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_KEYS:
        raise ValidationFailed(
            f"metadata must be an object with at most {MAX_METADATA_KEYS} keys.", field="metadata"
        )
    for key, value in metadata.items():
        _check_metadata_entry(key, value)


def _check_metadata_entry(key: str, value: Any) -> None:
    if not key:
        raise ValidationFailed("metadata keys must not be empty.", field="metadata")
    check_text(key, "metadata", MAX_METADATA_KEY_LENGTH)
    # Flat values only, as Stripe keeps them: nested objects and lists are refused.
    if not isinstance(value, str | int | float | bool):
        raise ValidationFailed("metadata values must be strings or numbers.", field="metadata")
    check_text(str(value), "metadata", MAX_METADATA_VALUE_LENGTH)
    reject_sensitive(f"{key} {value}", "metadata")


def reject_sensitive(value: str, field: str) -> None:
    """Card numbers and secrets are never stored: refuse them where they would be."""
    if contains_card_number(value):
        raise ValidationFailed(f"{field} must not contain a card number.", field=field)
    if contains_secret(value):
        raise ValidationFailed(f"{field} must not contain a secret or token.", field=field)
