"""deploy/kubernetes validates against Kubernetes' own schemas and keeps the deployment's rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.harness import ROOT

KUBERNETES_VERSION = "1.33.0"  # the oldest release the manifests promise to apply on
MANIFESTS = ROOT / "deploy" / "kubernetes"
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|API_KEY|DATABASE_URL")


def kustomization() -> dict[str, Any]:
    """deploy/kubernetes/kustomization.yaml."""
    loaded: dict[str, Any] = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    return loaded


def resources() -> list[dict[str, Any]]:
    """Every resource the kustomization applies, in order."""
    found: list[dict[str, Any]] = []
    for name in kustomization()["resources"]:
        found.extend(d for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d)
    return found


def one(kind: str, name: str) -> dict[str, Any]:
    """The resource of this kind and name."""
    (found,) = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """A Deployment's containers."""
    spec: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    return spec


def test_kustomization_lists_every_manifest():
    """Each YAML file beside kustomization.yaml is one of its resources (none forgotten)."""
    files = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization()["resources"]) == files


@pytest.mark.parametrize(
    "resource", resources(), ids=lambda r: f"{r['kind']}/{r['metadata']['name']}"
)
def test_manifest_is_valid_for_the_pinned_kubernetes(resource: dict[str, Any]) -> None:
    """The resource validates strictly (no unknown fields) against Kubernetes' schema."""
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_api_and_worker_are_separate_deployments_running_as_non_root():
    """API and worker run apart, as the image's user, with requests and limits."""
    for name, role in (("threshold-api", "api"), ("threshold-worker", "worker")):
        deployment = one("Deployment", name)
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = containers(deployment)
        assert container["command"][-1] == role
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert set(container["resources"]) == {"requests", "limits"}
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])


def test_api_probes_readiness_and_liveness_separately():
    """Readiness asks /readyz (dependencies), liveness /healthz (the process) on the API."""
    (api,) = containers(one("Deployment", "threshold-api"))
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    (worker,) = containers(one("Deployment", "threshold-worker"))
    assert worker["livenessProbe"]["exec"]["command"][-2:] == ["core.probe", "worker"]


def test_secrets_are_references_never_values():
    """No Secret object ships, the ConfigMap holds no secret, and secret settings come from secretKeyRef."""
    assert not [r for r in resources() if r["kind"] == "Secret"]
    config = one("ConfigMap", "threshold-config")["data"]
    assert not [key for key in config if SECRET_NAME.search(key)]
    for name in ("threshold-api", "threshold-worker"):
        (container,) = containers(one("Deployment", name))
        for variable in container["env"]:
            if SECRET_NAME.search(variable["name"]):
                assert "value" not in variable, variable["name"]
                assert variable["valueFrom"]["secretKeyRef"]["name"] == "threshold-secrets"


def test_service_hpa_and_budgets_select_the_right_pods():
    """The Service and HPA reach the API pods; each PodDisruptionBudget covers its Deployment."""
    api_labels = one("Deployment", "threshold-api")["spec"]["template"]["metadata"]["labels"]
    assert one("Service", "threshold-api")["spec"]["selector"].items() <= api_labels.items()
    target = one("HorizontalPodAutoscaler", "threshold-api")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "threshold-api")
    for name in ("threshold-api", "threshold-worker"):
        labels = one("Deployment", name)["spec"]["template"]["metadata"]["labels"]
        budget = one("PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"]
        assert budget.items() <= labels.items()


def test_public_url_is_set_for_links():
    """The ConfigMap sets the public URL, so Slack and Jira links are not 127.0.0.1."""
    url = one("ConfigMap", "threshold-config")["data"]["THRESHOLD_API__PUBLIC_URL"]
    assert url.startswith("https://") and "127.0.0.1" not in url


def test_image_is_set_once_in_the_kustomization():
    """Both Deployments use the image name the kustomization rewrites."""
    (image,) = kustomization()["images"]
    for name in ("threshold-api", "threshold-worker"):
        assert [c["image"] for c in containers(one("Deployment", name))] == [image["name"]]


def test_manifests_parse_as_plain_yaml_files():
    """Every manifest is a file kubectl reads (no templating left in it)."""
    for path in Path(MANIFESTS).glob("*.yaml"):
        assert "{{" not in path.read_text(), path.name
