"""The GraphiQL page: its scripts run under a per-response nonce; the dev token is pre-filled."""

import json
import secrets

# Strawberry's page loads React, GraphiQL and its explorer plugin from unpkg (pinned by
# SRI hashes) and boots them from one inline script: every <script> carries the nonce,
# so no other script can run. Its stylesheets come from unpkg, and it styles inline.
_CSP = (
    "default-src 'none'; script-src 'nonce-{nonce}'; "
    "style-src 'unsafe-inline' https://unpkg.com; font-src data: https://unpkg.com; "
    "img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def graphiql_page(html: str, token: str | None = None) -> tuple[str, str]:
    """The page with a fresh nonce on each script (and `token` in its headers), and its CSP."""
    nonce = secrets.token_urlsafe(16)
    if token:
        html = _prefill_authorization(html, token)
    return html.replace("<script", f'<script nonce="{nonce}"'), _CSP.format(nonce=nonce)


def _prefill_authorization(html: str, token: str) -> str:
    headers = json.dumps(json.dumps({"Authorization": f"Bearer {token}"}, indent=2))
    return html.replace(
        "React.useState(parameters.headers)", f"React.useState(parameters.headers || {headers})"
    )
