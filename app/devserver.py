"""`payments dev`: migrate an embedded SQLite file and serve API and worker in one process."""

import asyncio

import uvicorn

from app.dev_settings import DEV_DATABASE_URL
from app.factory import create_app
from app.server_bounds import UVICORN_BOUNDS
from payments.gateways.simulated.gateway import own_webhook_url
from payments.platform.database import apply_migrations
from payments.platform.logs import configure_logging
from payments.shared.auth import issue_token
from payments.shared.settings import DEV_DATABASE_FILE, Settings

DEV_SUBJECT = "dev-customer"


def run_dev(settings: Settings, host: str, port: int) -> None:
    """Prepare the embedded database, print the GraphiQL URL and a token, then serve."""
    configure_logging(settings.log_level, "console")
    if settings.database_url == DEV_DATABASE_URL:
        DEV_DATABASE_FILE.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(apply_migrations(settings.database_url))
    webhook_url = settings.simulated_webhook_url or own_webhook_url(host, port)
    settings = settings.model_copy(update={"simulated_webhook_url": webhook_url})
    assert settings.jwt_secret is not None
    token = issue_token(settings.jwt_secret.get_secret_value(), DEV_SUBJECT, ttl_seconds=7 * 86400)
    app = create_app(settings, graphiql_token=token)
    print(f"GraphiQL:  http://{host}:{port}/graphql  (Authorization header pre-filled)")
    print(f"Charge budget: {settings.rate_limit_charge} per principal (RATE_LIMIT_CHARGE)")
    print(f"Dev token (sub={DEV_SUBJECT}, all scopes, 7 days):\n{token}", flush=True)
    # RequestContext logs each request (by path); uvicorn's own line would add the query,
    # which holds the 3-D Secure page's client secret.
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, **UVICORN_BOUNDS)
