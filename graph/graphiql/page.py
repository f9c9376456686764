"""The GraphiQL page: its scripts run under a per-response nonce; the dev token is pre-filled."""

import json
import secrets

from graph.graphiql.assets import local_page
from graph.graphiql.fallback import with_load_failure_message

# Strawberry's page loads React, GraphiQL and its explorer plugin from unpkg (pinned by
# SRI hashes) and boots them from one inline script: every <script> carries the nonce,
# so no other script can run. Its stylesheets come from unpkg, and it styles inline.
_CSP = (
    "default-src 'none'; script-src 'nonce-{nonce}'; "
    "style-src 'unsafe-inline' https://unpkg.com; font-src data: https://unpkg.com; "
    "img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# With GRAPHIQL_ASSETS_DIR the same page loads everything from this server: no other host.
_LOCAL_CSP = (
    "default-src 'none'; script-src 'nonce-{nonce}'; "
    "style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
    "img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def graphiql_page(
    html: str, token: str | None = None, *, local_assets: bool = False
) -> tuple[str, str]:
    """The page with a fresh nonce on each script (and `token` in its headers), and its CSP.

    `local_assets`: load the assets from this server (GRAPHIQL_ASSETS_DIR); otherwise from
    the CDN, with a visible explanation if they cannot be loaded.
    """
    nonce = secrets.token_urlsafe(16)
    if token:
        html = _prefill_authorization(html, token)
    html = local_page(html) if local_assets else with_load_failure_message(html)
    policy = (_LOCAL_CSP if local_assets else _CSP).format(nonce=nonce)
    return html.replace("<script", f'<script nonce="{nonce}"'), policy


def _prefill_authorization(html: str, token: str) -> str:
    headers = json.dumps(json.dumps({"Authorization": f"Bearer {token}"}, indent=2))
    return html.replace(
        "React.useState(parameters.headers)", f"React.useState(parameters.headers || {headers})"
    )
