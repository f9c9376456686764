"""Prometheus metrics of the service, in one registry-aware module."""

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from payments.shared.multiprocess import MULTIPROCESS_DIR

GRAPHQL_OPERATIONS = Counter(
    "payments_graphql_operations_total",
    "GraphQL operations by operation name and outcome.",
    ["operation", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "payments_graphql_operation_duration_seconds",
    "GraphQL operation latency.",
    ["operation"],
)
PAYMENTS = Counter(
    "payments_status_changes_total", "Applied payment status changes.", ["status", "currency"]
)
PAYMENT_AMOUNT = Histogram(
    "payments_charge_amount_minor_units",
    "Amounts charged, in minor units.",
    ["currency"],
    buckets=(100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 1_000_000),
)
CHARGE_DURATION = Histogram("payments_charge_duration_seconds", "chargePayment service latency.")
GATEWAY_CALLS = Histogram(
    "payments_gateway_call_duration_seconds",
    "Gateway calls by gateway, operation and outcome.",
    ["gateway", "operation", "outcome"],
)
GATEWAY_CONFLICTS = Counter(
    "payments_gateway_conflicts_total",
    "Gateway reports that contradict a terminal status (e.g. succeeded after failed); alert on it.",
    ["status", "reported"],
)
IDEMPOTENCY = Counter(
    "payments_idempotency_outcomes_total",
    "Idempotency key claims by operation and outcome (new, replay, conflict, in_use).",
    ["operation", "outcome"],
)
DISPUTES = Counter(
    "payments_disputes_total",
    "Dispute changes applied (created, updated, closed), by currency; created over succeeded "
    "payments is the dispute rate card networks watch.",
    ["change", "currency"],
)
DISPUTES_UNMATCHED = Gauge(
    "payments_disputes_unmatched",
    "Disputes no payment of ours matches, as the reconciler last counted them.",
    multiprocess_mode="livemax",
)
REFUNDS = Counter("payments_refunds_total", "Refunds by final status.", ["status"])
DELIVERIES = Counter(
    "payments_event_deliveries_total",
    # `consumer` is the event endpoint's id: endpoints are made by admins only, so the
    # label set stays as small as the registry.
    "Outgoing payment event deliveries by endpoint and outcome (delivered, retried, dead).",
    ["consumer", "outcome"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "payments_outbox_oldest_undelivered_age_seconds",
    "Age of the oldest payment event not yet delivered to every consumer.",
    # livemax: a stopped worker's last reading must not stay the maximum forever.
    multiprocess_mode="livemax",
)
KAFKA_PUBLISHED = Counter(
    "payments_kafka_events_published_total",
    "Payment events the Kafka broker acknowledged on KAFKA_TOPIC.",
)
KAFKA_FAILURES = Counter(
    "payments_kafka_publish_failures_total",
    "Failed Kafka publishing passes, by what failed (broker, database).",
    ["stage"],
)
KAFKA_OLDEST_AGE = Gauge(
    "payments_kafka_oldest_unpublished_age_seconds",
    "Age of the oldest payment event not yet acknowledged by the Kafka broker.",
    multiprocess_mode="livemax",
)
# Set by the worker's relay (payments.webhook_backlog); livemax as for the outbox age.
WEBHOOK_BACKLOG = Gauge(
    "payments_webhook_backlog_events",
    "Stored Stripe webhook events not processed yet.",
    multiprocess_mode="livemax",
)
WEBHOOK_BACKLOG_AGE = Gauge(
    "payments_webhook_backlog_oldest_age_seconds",
    "Age of the oldest stored Stripe webhook event not processed yet.",
    multiprocess_mode="livemax",
)
WEBHOOKS_RECEIVED = Counter(
    "payments_webhooks_received_total",
    "Stripe webhooks received by type and outcome.",
    ["type", "outcome"],
)


RATE_LIMITED = Counter(
    "payments_rate_limited_total", "Requests refused by a rate-limit budget.", ["budget"]
)
RATE_LIMIT_ERRORS = Counter(
    "payments_rate_limit_errors_total",
    "Rate-limit checks Redis could not answer, by budget (default: let through; charge: "
    "checked against a per-process budget instead).",
    ["budget"],
)


def observe_gateway_call(gateway: str, operation: str, outcome: str, started: float) -> None:
    """Time one gateway call since `started` (a perf_counter reading), by its outcome."""
    GATEWAY_CALLS.labels(gateway, operation, outcome).observe(time.perf_counter() - started)


def mark_process_dead() -> None:
    """Drop this exiting process's live gauges from the aggregate (multiprocess mode only)."""
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def render_metrics() -> tuple[bytes, str]:
    """The exposition text; aggregates every worker's files in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
