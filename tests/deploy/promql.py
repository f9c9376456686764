"""The PromQL of deploy/: alert rule and dashboard expressions and the metric names they read."""

import json
import re
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).parents[2] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
DASHBOARD = DEPLOY / "grafana" / "payments.json"
# The service's own metrics and Dramatiq's (from `payments worker`); nothing else is scraped.
METRIC = re.compile(r"\b(?:payments|dramatiq)_[a-z0-9_]+\b")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of alerts.yml, across its groups."""
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_panels() -> list[dict[str, Any]]:
    """The dashboard's panels, in order."""
    panels: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    return panels


def expressions() -> dict[str, str]:
    """Each PromQL expression of the rules and the dashboard, keyed by where it is."""
    found = {f"alert {rule['alert']}": rule["expr"] for rule in alert_rules()}
    for panel in dashboard_panels():
        for target in panel["targets"]:
            found[f"panel {panel['title']!r} {target['refId']}"] = target["expr"]
    return found


def metric_names(expression: str) -> set[str]:
    """The metric names an expression reads (quoted label values are not names)."""
    return set(METRIC.findall(_QUOTED.sub('""', expression)))
