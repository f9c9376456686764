"""The HTTP client a simulated rail posts its webhooks to the service with."""

import httpx


class WebhookClient:
    """One client for a simulated rail's life, made when its first webhook goes out.

    Building an httpx client loads the CA bundle (about 40 ms of CPU), which a client per
    webhook paid on every event. No connection is kept alive between webhooks: a POST on
    a connection the server has just closed would fail, and these webhooks are sent once.
    """

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        if self._client is None:
            limits = httpx.Limits(max_keepalive_connections=0)
            self._client = httpx.AsyncClient(timeout=10, limits=limits)
        return await self._client.post(url, content=body, headers=headers)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
