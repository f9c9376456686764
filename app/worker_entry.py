"""The module Dramatiq's worker processes import: settings from the environment, broker, actors."""

from app.wiring import build_runtime
from payments.platform.logs import configure_logging
from payments.shared.settings import load_settings
from tasks.actor_runtime import set_actor_runtime
from tasks.broker import setup_broker

_settings = load_settings()
configure_logging(_settings.log_level, _settings.log_format)
broker = setup_broker(_settings, worker=True)
set_actor_runtime(build_runtime(_settings))

from tasks.kafka_publishing import KafkaPublisherMiddleware  # noqa: E402
from tasks.middleware import TortoiseMiddleware  # noqa: E402
from tasks.outbox_relay import RelayMiddleware  # noqa: E402  (actor modules need the broker first)

# Before Tortoise in the list: Dramatiq runs after_worker_boot hooks in reverse order,
# so the database is open when the relay starts (and still open when it stops).
broker.add_middleware(RelayMiddleware(_settings), before=TortoiseMiddleware)
if _settings.kafka_enabled:
    broker.add_middleware(KafkaPublisherMiddleware(_settings), before=TortoiseMiddleware)
