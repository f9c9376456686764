"""PayPal's REST API through the official SDK, off the event loop, with the shared token.

`paypal-server-sdk` is synchronous (`requests`): its calls run in a bounded thread pool,
each with the access token the async side took from Redis (carried in a context
variable), so one token serves every process and thread. The SDK retries nothing; our
PayPal-Request-Ids make a retry by the caller a replay. Measured against the test fake
(400 reads, 8 in flight): about 1.2 to 1.6 ms of CPU per call through the SDK and its pool
against 1.35 ms with an async httpx client, the fake's own work included in both: no
reason found to leave the official SDK.
"""

import asyncio
import contextvars
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from apimatic_core.authentication.header_auth import HeaderAuth
from paypalserversdk.configuration import Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.api_response import ApiResponse
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials, OAuth2
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient
from redis.asyncio import Redis

from payments.gateways.base import Json
from payments.gateways.paypal.errors import PayPalRefusal, unavailable
from payments.gateways.paypal.tokens import AccessToken, TokenStore

# Calls waiting for PayPal at once per process; more queue for a free thread.
MAX_THREADS = 8
_ACCESS_TOKEN: contextvars.ContextVar[str] = contextvars.ContextVar("paypal_access_token")

# An SDK controller call, or a request the SDK has no controller for: both answer `.text`.
SdkCall = Callable[[PaypalServersdkClient], ApiResponse | requests.Response]


class _ContextBearer(HeaderAuth):  # type: ignore[misc]
    """The SDK's Oauth2 slot, answered with the token of the call being made."""

    def __init__(self) -> None:
        super().__init__(auth_params={})

    @property
    def error_message(self) -> str:
        return "No PayPal access token was handed to this call."

    def is_valid(self) -> bool:
        return _ACCESS_TOKEN.get(None) is not None

    def apply(self, http_request: Any) -> None:
        http_request.add_header("Authorization", f"Bearer {_ACCESS_TOKEN.get()}")


class _TokenRefused(Exception):
    """PayPal answered 401: the token expired or was revoked before its time."""


class PayPalClient:
    """Sends SDK calls with the shared token; answers PayPal's JSON or raises.

    Raises PayPalRefusal for a 4xx, GatewayUnavailable for a 5xx, a timeout or a lost
    connection (outcome unknown).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        redis: Redis,
        namespace: str,
        live: bool = False,
        api_base: str | None = None,
        timeout_seconds: float = 15.0,
        max_threads: int = MAX_THREADS,
    ) -> None:
        environment = Environment.PRODUCTION if live else Environment.SANDBOX
        self._sdk = PaypalServersdkClient(
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=client_id, o_auth_client_secret=client_secret
            ),
            environment=environment,
            timeout=timeout_seconds,
        )
        if api_base:
            self._sdk.config.environments = {environment: {Server.DEFAULT: api_base.rstrip("/")}}
        # The SDK's own OAuth2 keeps one token per client object; ours comes from Redis.
        self._oauth: OAuth2 = self._sdk.auth_managers["Oauth2"]
        self._sdk.auth_managers["Oauth2"] = _ContextBearer()
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="paypal")
        # For the REST endpoints the SDK has no controller for (Customer Disputes).
        self._session = requests.Session()
        self._timeout_seconds = timeout_seconds
        self._tokens = TokenStore(redis, namespace, client_id, self._fetch_token)

    async def send(self, call: SdkCall) -> Json:
        """PayPal's answer to `call` as JSON; a 401 refreshes the token once and retries."""
        token = await self._tokens.current()
        try:
            return await self._run(call, token.value)
        except _TokenRefused:
            token = await self._tokens.refused(token)
        try:
            return await self._run(call, token.value)
        except _TokenRefused:
            raise unavailable(401, None, "token refused twice") from None

    async def send_rest(
        self,
        path: str,
        *,
        request_id: str | None = None,
        json_body: Json | None = None,
        form_input: Json | None = None,
    ) -> Json:
        """A call the SDK has no controller for, with the same token, thread pool and errors.

        A GET without a body; a POST of `json_body`, or of `form_input` as the multipart
        part `input` (as PayPal's provide-evidence takes it).
        """

        def call(sdk: PaypalServersdkClient) -> requests.Response:
            headers = {"Authorization": f"Bearer {_ACCESS_TOKEN.get()}"}
            if request_id is not None:
                headers["PayPal-Request-Id"] = request_id
            files = None
            if form_input is not None:
                files = {"input": (None, json.dumps(form_input), "application/json")}
            method = "GET" if json_body is None and files is None else "POST"
            response = self._session.request(
                method,
                sdk.config.get_base_uri(Server.DEFAULT) + path,
                headers=headers,
                json=json_body,
                files=files,
                timeout=self._timeout_seconds,
            )
            if response.status_code >= 400:
                raise ApiException(response.reason, response)
            return response

        return await self.send(call)

    async def _run(self, call: SdkCall, access_token: str) -> Json:
        context = contextvars.copy_context()
        context.run(_ACCESS_TOKEN.set, access_token)
        loop = asyncio.get_running_loop()
        try:
            response = await loop.run_in_executor(self._pool, context.run, call, self._sdk)
        except ApiException as error:
            raise _read_error(error.response_code, error.response.text) from None
        except requests.RequestException as error:
            raise unavailable(None, None, type(error).__name__) from None
        return _json(response.text)

    async def _fetch_token(self) -> AccessToken:
        loop = asyncio.get_running_loop()
        try:
            token = await loop.run_in_executor(self._pool, self._oauth.fetch_token)
        except ApiException as error:
            # Wrong credentials are a configuration fault: every call fails until fixed.
            raise unavailable(error.response_code, None, "token request refused") from None
        except requests.RequestException as error:
            raise unavailable(None, None, type(error).__name__) from None
        return AccessToken(str(token.access_token), time.time() + float(token.expires_in))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._session.close()


def _read_error(status: int, text: str | None) -> Exception:
    body = _json(text) if text else {}
    if status == 401:
        return _TokenRefused()
    if 400 <= status < 500:
        return PayPalRefusal.read(status, body)
    debug_id = body.get("debug_id") if isinstance(body.get("debug_id"), str) else None
    return unavailable(status, debug_id, "server error")


def _json(text: str | None) -> Json:
    try:
        body = json.loads(text or "{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
