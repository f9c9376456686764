"""The ASGI application object for `uvicorn payments.asgi:app` (settings from the environment)."""

from payments.app import create_app
from payments.logs import configure_logging
from payments.settings import load_settings

_settings = load_settings()
configure_logging(_settings.log_level, _settings.log_format)
app = create_app(_settings)
