"""The ASGI application object for `uvicorn app.asgi:app` (settings from the environment)."""

from app.factory import create_app
from payments.platform.logs import configure_logging
from payments.shared.settings import load_settings

_settings = load_settings()
configure_logging(_settings.log_level, _settings.log_format)
app = create_app(_settings)
