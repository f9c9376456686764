"""GraphiQL without a CDN: served from GRAPHIQL_ASSETS_DIR under a 'self'-only policy.

Without local assets the page still uses the CDN, and says so plainly when it cannot load.
"""

import asyncio
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from strawberry.http.ides import get_graphql_ide_html

from app.factory import create_app
from graph.graphiql.assets import ASSETS_PATH, asset_paths, assets_route
from graph.graphiql.fallback import LOAD_ERROR_ID
from payments.shared.errors import SettingsError
from tests.conftest import make_settings
from tests.support import serve

ROOT = Path(__file__).parents[3]
FETCH_ASSETS = ROOT / "deploy" / "graphiql" / "fetch-assets.sh"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NPM = shutil.which("npm")
TEMPLATE = get_graphql_ide_html("graphiql")
# Every host name fails to resolve: the browser has no network beyond 127.0.0.1.
NETWORK_CLOSED = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


def _directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def _stub_assets(directory: Path) -> Path:
    """Placeholder files at every path the page references (enough for the server side)."""
    for path in asset_paths(TEMPLATE):
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_text(f"/* {path} */")
    return directory


@pytest.fixture
async def local_server(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """The API with GRAPHIQL_ASSETS_DIR pointing at placeholder assets."""
    settings = make_settings(database_url, graphiql_assets_dir=_stub_assets(tmp_path))
    async with serve(create_app(settings, owns_database=False)) as url:
        yield url


@pytest.fixture(scope="session")
def real_assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pinned packages fetched from the npm registry by deploy/graphiql/fetch-assets.sh."""
    if NPM is None:
        pytest.skip("npm is not installed: cannot fetch the GraphiQL assets")
    directory = tmp_path_factory.mktemp("graphiql-assets")
    subprocess.run([str(FETCH_ASSETS), str(directory)], check=True, timeout=180)
    return directory


def _package(path: str) -> str:
    """`react@18.2.0` of `react@18.2.0/umd/react.production.min.js` (scoped names too)."""
    scope, _, rest = path.partition("/") if path.startswith("@") else ("", "", path)
    name = rest.split("/", 1)[0]
    return f"{scope}/{name}" if scope else name


def test_fetch_script_pins_exactly_the_packages_strawberrys_page_loads() -> None:
    """fetch-assets.sh (the Dockerfile's stage runs it) pins the page's package@version set."""
    block = re.search(r"PACKAGES=\(\n(.*?)\n\)", FETCH_ASSETS.read_text(), re.S)
    assert block is not None
    wanted = {_package(path) for path in asset_paths(TEMPLATE)}
    assert set(block.group(1).split()) == wanted and len(wanted) == 5
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "deploy/graphiql/fetch-assets.sh" in dockerfile and "GRAPHIQL_ASSETS_DIR=" in dockerfile


async def test_local_page_loads_only_from_this_server_under_a_self_policy(
    local_server: str,
) -> None:
    """No unpkg URL is left in the page; its policy names no host; each asset is served here."""
    async with httpx.AsyncClient(base_url=local_server) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        policy = _directives(page.headers["content-security-policy"])
        assert "unpkg" not in page.text and "unpkg" not in page.headers["content-security-policy"]
        assert not [s for sources in policy.values() for s in sources if "://" in s]
        assert "'self'" in policy["style-src"] and policy["default-src"] == ["'none'"]
        urls = re.findall(r'(?:src|href)="(/graphql/assets/[^"]+)"', page.text)
        assert len(urls) == len(asset_paths(TEMPLATE)) == 7
        for url in urls:
            asset = await client.get(url)
            assert asset.status_code == 200 and asset.text == f"/* {url[len(ASSETS_PATH) :]} */"
            assert "immutable" in asset.headers["cache-control"]
        assert (await client.get(f"{ASSETS_PATH}react@18.2.0/package.json")).status_code == 404


def test_an_incomplete_assets_directory_stops_start_up_naming_the_setting(tmp_path: Path) -> None:
    """A directory missing one of the files raises a one-line GRAPHIQL_ASSETS_DIR error."""
    _stub_assets(tmp_path)
    (tmp_path / asset_paths(TEMPLATE)[-1]).unlink()
    with pytest.raises(SettingsError, match=r"^GRAPHIQL_ASSETS_DIR: .*index\.umd\.js is missing"):
        assets_route(tmp_path, TEMPLATE)


async def _dump_dom(url: str, profile: Path) -> tuple[str, list[str]]:
    """Headless Chromium's DOM of `url` after its scripts ran, and its console messages."""
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
        *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
        f"--user-data-dir={profile}",
        NETWORK_CLOSED,
        "--enable-logging=stderr",
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        dom, console = await asyncio.wait_for(process.communicate(), timeout=90)
    except TimeoutError:
        process.kill()
        raise
    return dom.decode(), [line for line in console.decode().splitlines() if ":CONSOLE" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
async def test_chromium_renders_graphiql_from_local_assets_with_the_network_closed(
    database_url: str, real_assets: Path, tmp_path: Path
) -> None:
    """With the real assets local and no network, GraphiQL's editor renders, CSP-clean."""
    settings = make_settings(database_url, graphiql_assets_dir=real_assets)
    async with serve(create_app(settings, owns_database=False)) as url:
        dom, console = await _dump_dom(f"{url}/graphql", tmp_path)
    assert not [line for line in console if "Content Security Policy" in line], console
    assert 'class="graphiql-editors' in dom and "graphiql-session" in dom, dom[-2000:]
    assert LOAD_ERROR_ID not in dom and "Loading..." not in dom


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
async def test_chromium_explains_why_when_the_cdn_cannot_be_reached(
    server: str, tmp_path: Path
) -> None:
    """Without local assets and without network, the page names the cause and the setting."""
    dom, console = await _dump_dom(f"{server}/graphql", tmp_path)
    assert not [line for line in console if "Content Security Policy" in line], console
    assert f'id="{LOAD_ERROR_ID}"' in dom and "GRAPHIQL_ASSETS_DIR" in dom, dom[-2000:]
    assert "failed: https://unpkg.com/" in dom and "Loading..." not in dom
