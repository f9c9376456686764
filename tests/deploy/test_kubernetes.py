"""The Kubernetes manifests validate strictly and keep the service's runtime contract."""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from app.cli import GRACEFUL_SHUTDOWN_SECONDS
from app.worker import SHUTDOWN_TIMEOUT_MS
from payments.shared.settings import Settings

K8S = Path(__file__).parents[2] / "deploy" / "k8s"
# The oldest Kubernetes we claim to support; kubernetes-validate ships its schemas offline.
KUBERNETES_VERSION = "1.31.0"
VALIDATE = str(Path(sys.executable).with_name("kubernetes-validate"))
EXAMPLE_SECRET = "secret.example.yaml"


def _constant(module: str, name: str) -> float:
    """A module-level number read from source (actor modules wait for a broker before import)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    for node in ast.parse(Path(spec.origin).read_text()).body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == name:
            value = ast.literal_eval(node.value)
            assert isinstance(value, int | float)
            return value
    raise AssertionError(f"{module}.{name} not found")


def _manifests() -> list[Path]:
    return sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


def _resources() -> list[dict[str, Any]]:
    return [doc for path in _manifests() for doc in yaml.safe_load_all(path.read_text()) if doc]


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in _resources() if r["kind"] == kind}


def _pod_specs() -> dict[str, dict[str, Any]]:
    workloads = {**_by_kind("Deployment"), **_by_kind("Job")}
    return {name: workload["spec"]["template"]["spec"] for name, workload in workloads.items()}


def test_manifests_validate_strictly_against_the_pinned_kubernetes() -> None:
    """`kubernetes-validate --strict` accepts every manifest (unknown fields are errors)."""
    files = [str(path) for path in _manifests()]
    result = subprocess.run(
        [VALIDATE, "--strict", "--kubernetes-version", KUBERNETES_VERSION, *files],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed ") == len(_resources()), result.stdout


def test_the_manifests_hold_every_kind_the_service_needs() -> None:
    """Two Deployments, the migrate Job, Services, ConfigMap, Secret, HPAs, PDB, NetworkPolicy."""
    kinds = [resource["kind"] for resource in _resources()]
    assert kinds.count("Deployment") == 2 and kinds.count("HorizontalPodAutoscaler") == 2
    assert {"Job", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "NetworkPolicy"} <= set(
        kinds
    )
    targets = {
        hpa["spec"]["scaleTargetRef"]["name"]
        for hpa in _by_kind("HorizontalPodAutoscaler").values()
    }
    assert targets == set(_by_kind("Deployment"))
    (job,) = _by_kind("Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["payments", "migrate"]


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    """kustomization.yaml names each manifest file once, and never the placeholder Secret."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    expected = {path.name for path in _manifests()} - {EXAMPLE_SECRET}
    assert sorted(listed) == sorted(expected) and len(set(listed)) == len(listed)


def test_every_container_is_bounded_non_root_and_read_only() -> None:
    """Requests and limits on each container; non-root, read-only root, /tmp an emptyDir."""
    for name, spec in _pod_specs().items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        empty_dirs = {volume["name"] for volume in spec["volumes"] if "emptyDir" in volume}
        for container in spec["containers"]:
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert set(resources[bound]) >= {"cpu", "memory"}, (name, bound)
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            # The Prometheus multiprocess directory is made under TMPDIR (payments/multiprocess).
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in empty_dirs, name


def test_api_probes_use_the_health_endpoints() -> None:
    """Liveness (and startup) on /health/live, readiness on /health/ready, on the served port."""
    (container,) = _pod_specs()["payments-api"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    port = container["command"][container["command"].index("--port") + 1]
    assert [p["containerPort"] for p in container["ports"]] == [int(port)]


def test_termination_grace_outlasts_each_drain() -> None:
    """The worker's grace exceeds its actor and relay drain; the API's, uvicorn's plus preStop."""
    worker = _pod_specs()["payments-worker"]
    relay_stop = _constant("tasks.outbox_relay", "STOP_TIMEOUT_SECONDS")
    assert worker["terminationGracePeriodSeconds"] > SHUTDOWN_TIMEOUT_MS / 1000 + relay_stop
    api = _pod_specs()["payments-api"]
    (container,) = api["containers"]
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert api["terminationGracePeriodSeconds"] > GRACEFUL_SHUTDOWN_SECONDS + pause


def test_worker_serves_metrics_where_prometheus_is_told_to_scrape() -> None:
    """WORKER_METRICS_PORT, the container port and the scrape annotation agree, on 0.0.0.0."""
    deployment = _by_kind("Deployment")["payments-worker"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert env["WORKER_METRICS_HOST"] == "0.0.0.0"
    assert env["WORKER_METRICS_PORT"] == annotations["prometheus.io/port"]
    assert [p["containerPort"] for p in container["ports"]] == [int(env["WORKER_METRICS_PORT"])]


def test_config_and_secret_keys_are_settings_the_service_reads() -> None:
    """Every ConfigMap and Secret key is a setting (a typo would be silently ignored)."""
    (config,) = _by_kind("ConfigMap").values()
    (secret,) = _by_kind("Secret").values()
    keys = set(config["data"]) | set(secret["stringData"])
    assert {key.lower() for key in keys} <= set(Settings.model_fields), keys
    assert {"DATABASE_URL", "REDIS_URL", "JWT_SECRET", "STRIPE_WEBHOOK_SECRET"} <= set(
        secret["stringData"]
    )
    assert not set(config["data"]) & set(secret["stringData"])
