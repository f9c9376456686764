"""Fuzz: any message on an acknowledged graphql-transport-ws socket is answered or refused."""

import asyncio
import json

import websockets
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.bounds import BOUNDED
from tests.graph.live.client import live_client
from tests.support import new_subject, token

BEARER = token(new_subject())
DOCUMENTS = [
    "subscription { paymentsUpdated { id } }",
    "subscription($id: ID!) { paymentUpdated(id: $id) { id } }",
    "subscription($f: PaymentFilter) { paymentsUpdated(filter: $f) { id } }",
    "{ __typename }",
    "{",
]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        "query": st.sampled_from(DOCUMENTS) | VALUES,
        "variables": st.fixed_dictionaries(
            {}, optional={"id": VALUES, "f": VALUES | st.fixed_dictionaries({"orderId": VALUES})}
        )
        | VALUES,
        "operationName": VALUES,
        "extensions": VALUES,
    },
)
MESSAGES = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["subscribe", "complete", "ping", "pong"]) | VALUES},
        optional={"id": st.sampled_from(["1", "2"]) | VALUES, "payload": PAYLOADS | VALUES},
    ).map(json.dumps),
    VALUES.map(json.dumps),
    st.text(max_size=40),
)


@settings(BOUNDED, max_examples=150)
@given(messages=st.lists(MESSAGES, min_size=1, max_size=3))
async def test_no_websocket_message_is_an_internal_error(logged_api, messages):
    """Whatever follows connection_init: answers, or a 44xx close, never 1011 or an ERROR log."""
    logged = logged_api.written()
    async with live_client(logged_api.url, BEARER) as client:
        try:
            for message in messages:
                await client.ws.send(message)
            while True:
                await asyncio.wait_for(client.ws.recv(), 0.3)
        except TimeoutError:
            pass
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            assert code is not None and 4400 <= code < 4500, (messages, code)
    await asyncio.sleep(0.05)  # the server's log line of a failed task follows the close
    assert logged_api.error_lines(since=logged) == [], messages
