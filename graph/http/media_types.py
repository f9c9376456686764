"""Which GraphQL-over-HTTP response media type a request's Accept header asks for."""

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def response_media_type(accept: str | None) -> str:
    """The media type to answer in: the new one only for clients that name it first.

    `application/graphql-response+json` when the client names it and ranks it at least
    as high as `application/json`; `application/json` otherwise. These are the
    GraphQL-over-HTTP spec's legacy rules: no Accept, `*/*` or `application/*` mean
    `application/json`, which older clients expect; only a client that names the new
    media type gets it (and with it 4xx status codes for request errors).
    """
    if not accept:
        return JSON
    ranges = [_media_range(part) for part in accept.split(",")]
    named = [q for media, q in ranges if media == GRAPHQL_RESPONSE_JSON]
    if not named or max(named) <= 0:
        return JSON
    return GRAPHQL_RESPONSE_JSON if max(named) >= _quality_of_json(ranges) else JSON


def _media_range(part: str) -> tuple[str, float]:
    media, *parameters = (piece.strip().lower() for piece in part.split(";"))
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "q":
            try:
                return media, float(value)
            except ValueError:
                return media, 0.0  # a malformed quality accepts nothing
    return media, 1.0


def _quality_of_json(ranges: list[tuple[str, float]]) -> float:
    # The most specific range that covers application/json decides its quality.
    for candidate in (JSON, "application/*", "*/*"):
        qualities = [q for media, q in ranges if media == candidate]
        if qualities:
            return max(qualities)
    return 0.0
