"""The GraphiQL page runs under a Content-Security-Policy that allows exactly its own scripts."""

import asyncio
import re
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


async def _page(http):
    return await http.get("/graphql", headers={"accept": "text/html"})


def _directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


async def test_every_script_carries_this_responses_nonce_and_nothing_else_may_run(http):
    """script-src admits only a per-response nonce, and each of the page's scripts has it."""
    first, second = await _page(http), await _page(http)
    policy = _directives(first.headers["content-security-policy"])
    (nonce_source,) = policy["script-src"]
    nonce = re.fullmatch(r"'nonce-([\w-]{16,})'", nonce_source)
    assert nonce is not None
    scripts = re.findall(r"<script\b[^>]*>", first.text)
    assert len(scripts) >= 2 and all(f'nonce="{nonce.group(1)}"' in s for s in scripts)
    assert nonce.group(1) not in second.headers["content-security-policy"]
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


async def test_policy_admits_the_pages_stylesheets_and_icon(http):
    """The page's stylesheet host and its data: icon are allowed, and no other host is."""
    page = await _page(http)
    policy = _directives(page.headers["content-security-policy"])
    stylesheets = re.findall(r'rel="stylesheet"\s+href="(https://[^/]+)/', page.text)
    assert stylesheets and set(stylesheets) <= set(policy["style-src"])
    assert 'rel="icon"\n      href="data:' in page.text and "data:" in policy["img-src"]
    hosts = {source for sources in policy.values() for source in sources if "://" in source}
    assert hosts == {"https://unpkg.com"}


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
async def test_chromium_runs_the_page_without_a_csp_violation(server, tmp_path):
    """Headless Chromium reports no CSP violation, and the inline bootstrap script does run.

    Without internet the CDN bundles fail to load, so the bootstrap stops at its first use
    of them ("Cookies is not defined"); that error is the proof it was allowed to run.
    """
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path}",
        "--enable-logging=stderr",
        "--virtual-time-budget=5000",
        "--dump-dom",
        f"{server}/graphql",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    dom, console = await asyncio.wait_for(process.communicate(), timeout=120)
    messages = [line for line in console.decode().splitlines() if ":CONSOLE" in line]
    assert not [m for m in messages if "Content Security Policy" in m], messages
    rendered = b"graphiql-container" in dom
    assert rendered or any("Cookies is not defined" in m for m in messages), messages
