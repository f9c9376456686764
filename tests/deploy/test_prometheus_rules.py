"""The alert rules pass `promtool check rules`, and their unit tests pass `promtool test rules`."""

import shutil
import subprocess

import pytest
import yaml

from tests.deploy.promql import ALERT_TESTS, ALERTS, alert_rules, expressions, metric_names

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)"
)
# The seeds' alerts and ours (issue 19); each must exist by this name.
REQUIRED_ALERTS = {
    "PaymentSuccessRateLow",
    "PaymentFailureRateHigh",
    "WebhookSignatureFailures",
    "GatewayApiErrors",
    "EventDeliveriesDeadLettered",
    "OutboxEventsNotDelivered",
    "IdempotencyConflicts",
    "WebhookBacklog",
    "DisputeRateHigh",
}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=ALERTS.parent
    )


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    """`promtool check rules` parses every expression and template and finds all the rules."""
    result = _promtool("check", "rules", ALERTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


@needs_promtool
def test_rules_unit_tests_pass() -> None:
    """`promtool test rules` runs the rules against synthetic series and every case passes."""
    result = _promtool("test", "rules", ALERT_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_unit_tests_cover_the_success_rate_dead_letter_and_dispute_alerts_firing() -> None:
    """Cases expect PaymentSuccessRateLow, EventDeliveriesDeadLettered, DisputeRateHigh to fire."""
    cases = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    firing = {
        check["alertname"]
        for case in cases
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert {"PaymentSuccessRateLow", "EventDeliveriesDeadLettered", "DisputeRateHigh"} <= firing


def test_every_alert_has_a_severity_a_summary_and_a_runbook() -> None:
    """Each rule is labelled page or ticket and annotated with a summary and a runbook line."""
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= REQUIRED_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert set(rule["annotations"]) == {"summary", "runbook"}, rule["alert"]
        assert all(len(text) > 20 for text in rule["annotations"].values()), rule["alert"]


def test_every_expression_reads_a_service_metric() -> None:
    """No rule or panel reads only metrics of another prefix (a typo would chart nothing)."""
    empty = [where for where, expression in expressions().items() if not metric_names(expression)]
    assert not empty
