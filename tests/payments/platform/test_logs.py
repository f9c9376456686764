"""The log redactor masks customers' personal data (emails, names) as well as secrets."""

from payments.platform.logs import _redacted, redact


def test_emails_in_free_text_are_masked():
    """An email anywhere in a message is replaced; the rest of the text stays."""
    assert redact("customer jenny.rosen+1@example.co.uk exists") == "customer [REDACTED] exists"


def test_email_and_name_fields_are_masked():
    """Fields named email or name never reach the log line, whatever they hold."""
    event = {"event": "x", "email": "Jenny", "input": {"name": "Jenny Rosen", "id": "cus_1"}}
    assert _redacted(event) == {
        "event": "x",
        "email": "[REDACTED]",
        "input": {"name": "[REDACTED]", "id": "cus_1"},
    }
