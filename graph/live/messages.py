"""The shape graphql-transport-ws gives each message, checked before Strawberry reads it."""

from collections.abc import Mapping

# Strawberry indexes these fields and hands them to graphql-core as they are: another type
# would fail inside the connection's task (a traceback at ERROR) instead of closing with 4400.
_PAYLOAD_FIELDS = {
    "variables": (dict, "an object"),
    "operationName": (str, "a string"),
    "extensions": (dict, "an object"),
}


def shape_problem(message: Mapping[str, object]) -> str | None:
    """Why `message` is not a well-formed protocol message, or None when it is.

    Only the fields the protocol gives a type are checked; an unknown `type` is left to
    Strawberry, which closes with its own 4400.
    """
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message needs a string type."
    if kind in {"subscribe", "complete"} and not isinstance(message.get("id"), str):
        return f"A {kind} message needs a string id."
    if kind != "subscribe":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "A subscribe message needs a payload with a string query."
    for name, (expected, described) in _PAYLOAD_FIELDS.items():
        value = payload.get(name)
        if value is not None and not isinstance(value, expected):
            return f"The subscribe payload's {name} must be {described} or null."
    return None
