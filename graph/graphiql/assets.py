"""GraphiQL's scripts and stylesheets served by the app itself (GRAPHIQL_ASSETS_DIR), no CDN.

The directory holds the npm packages of strawberry's page laid out as unpkg serves them
(`<package>@<version>/<file>`, see deploy/graphiql/fetch-assets.sh), so the page's own
SRI hashes still check every file. Only the files the page references are served.
"""

import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from payments.shared.errors import SettingsError
from payments.shared.settings import Settings

CDN = "https://unpkg.com/"
ASSETS_PATH = "/graphql/assets/"
_CDN_URL = re.compile(r'(?:src|href)="https://unpkg\.com/([^"]+)"')
# The paths are versioned: a browser may keep each file for good.
_CACHE = {"cache-control": "public, max-age=31536000, immutable"}


def asset_paths(html: str) -> list[str]:
    """The files the page loads from the CDN, as paths below it (`react@18.2.0/umd/...`)."""
    return _CDN_URL.findall(html)


def local_page(html: str) -> str:
    """The page loading every asset from ASSETS_PATH on this server instead of the CDN."""
    return html.replace(CDN, ASSETS_PATH)


def assets_route(directory: Path, html: str) -> Route:
    """`GET /graphql/assets/{path}` for exactly the page's files; refuses an incomplete directory.

    Raises `SettingsError` naming the first missing file, so start-up fails with one line.
    """
    files = {path: directory / path for path in asset_paths(html)}
    missing = [str(file) for file in files.values() if not file.is_file()]
    if missing:
        raise SettingsError(
            f"GRAPHIQL_ASSETS_DIR: {missing[0]} is missing "
            "(fill the directory with deploy/graphiql/fetch-assets.sh)"
        )

    async def serve_asset(request: Request) -> Response:
        file = files.get(request.path_params["path"])
        if file is None:
            return PlainTextResponse("Not Found", status_code=404)
        return FileResponse(file, headers=_CACHE)

    return Route(ASSETS_PATH + "{path:path}", serve_asset, methods=["GET", "HEAD"])


def graphiql_asset_routes(settings: Settings, html: str) -> list[BaseRoute]:
    """The assets route when GRAPHIQL_ASSETS_DIR is set and GraphiQL is on (not production)."""
    if settings.graphiql_assets_dir is None or settings.is_production:
        return []
    return [assets_route(settings.graphiql_assets_dir, html)]
