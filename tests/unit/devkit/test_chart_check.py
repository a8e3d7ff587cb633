"""``chart-check`` reads manifests as ``helm template`` prints them and lists problems by object and path."""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import pytest
import yaml

from platform_devkit.chart import cli
from platform_devkit.chart.credentials import credential_findings
from platform_devkit.chart.manifests import embedded_pods, helm_template_text, split_manifests

POD_TEMPLATE = yaml.safe_dump(
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t"}, "spec": {"containers": [{"name": "base"}]}}
)
CONFIG_MAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "c"},
    "data": {"pod.yaml": POD_TEMPLATE},
}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "s"},
    "spec": {"ports": [{"port": 80}]},
}


def _text(*bodies: dict) -> str:
    return helm_template_text({f"chart/templates/{i}.yaml": yaml.safe_dump(b) for i, b in enumerate(bodies)})


def test_helm_template_text_splits_back_into_the_objects_skipping_notes_and_empty_documents() -> None:
    rendered = {
        "c/templates/a.yaml": "---\n# c\n---\n" + yaml.safe_dump(SERVICE),
        "c/templates/NOTES.txt": "hi",
    }
    objects = split_manifests(helm_template_text(rendered))
    assert [(item.ref, item.template) for item in objects] == [("Service/s", "c/templates/a.yaml")]


def test_pods_embedded_in_config_maps_are_found() -> None:
    (pod,) = embedded_pods(split_manifests(_text(CONFIG_MAP)))
    assert pod.ref == "ConfigMap/c[pod.yaml]"


def test_clean_input_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rendered.yaml"
    path.write_text(_text(SERVICE, CONFIG_MAP))
    assert cli.main([str(path)]) == 0
    assert capsys.readouterr().out == (
        "chart-check: 2 objects and 1 embedded pod manifest against Kubernetes 1.33 (strict): no problems\n"
    )


def test_problems_are_listed_by_kind_name_and_path(monkeypatch, capsys) -> None:
    bad_service = {**SERVICE, "spec": {"ports": [{"port": "eighty", "protocl": "TCP"}]}}
    bad_pod = POD_TEMPLATE.replace("name: base", "name: base\n    imagePullPolice: Always")
    monkeypatch.setattr(
        "sys.stdin", io.StringIO(_text(bad_service, {**CONFIG_MAP, "data": {"pod.yaml": bad_pod}}))
    )
    assert cli.main([]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0]
        == "Service/s: spec.ports[0]: Additional properties are not allowed ('protocl' was unexpected)"
    )
    assert lines[1].startswith("Service/s: spec.ports[0].port: 'eighty' is not of type 'integer'")
    assert lines[2].startswith("ConfigMap/c[pod.yaml]: spec.containers[0]: Additional properties")
    assert lines[-1].endswith(": 3 problems")


def test_a_kind_the_kubernetes_version_lacks_is_a_problem(monkeypatch, capsys) -> None:
    old = {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}}
    monkeypatch.setattr("sys.stdin", io.StringIO(_text(old)))
    assert cli.main(["-"]) == 1
    assert (
        "PodDisruptionBudget/p: (object): Kubernetes 1.33 has no PodDisruptionBudget in policy/v1beta1"
        in (capsys.readouterr().out)
    )


def test_required_network_paths_are_checked_on_request(monkeypatch, capsys) -> None:
    api = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "airflow-api-server"},
        "spec": {
            "selector": {"matchLabels": {"component": "api-server"}},
            "template": {
                "metadata": {"labels": {"component": "api-server"}},
                "spec": {
                    "containers": [{"name": "a", "ports": [{"name": "api-server", "containerPort": 8080}]}]
                },
            },
        },
    }
    deny_all = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny"},
        "spec": {"podSelector": {}},
    }
    monkeypatch.setattr("sys.stdin", io.StringIO(_text(api, deny_all)))
    assert cli.main(["--require-network-paths", "--namespace", "airflow-prod"]) == 1
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "ingress->api-server" in line]
    assert line.startswith(
        "Deployment/airflow-api-server: port api-server (8080/TCP) from the ingress controller"
    )
    assert line.endswith("opened by apiServer.networkPolicy.ingress.from")


def test_unreadable_input_exits_two(tmp_path: Path, capsys) -> None:
    assert cli.main([str(tmp_path / "missing.yaml")]) == 2
    path = tmp_path / "not-k8s.yaml"
    path.write_text("- a list\n")
    assert cli.main([str(path)]) == 2
    assert "not a Kubernetes object" in capsys.readouterr().err


def test_credentials_in_clear_are_found() -> None:
    fake = [secrets.token_hex(4) for _ in range(5)]  # generated, so no literal credential is in the tree
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "env": [
                                {"name": "SMTP_PASSWORD", "value": fake[0]},
                                {"name": "DB", "value": f"postgresql://u:{fake[1]}@db/a"},
                                {
                                    "name": "OK_PASSWORD",
                                    "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                                },
                                {"name": "TOKEN_URL", "value": "https://example.com/token"},
                            ],
                        }
                    ]
                }
            }
        },
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {
            "airflow.cfg": f"[smtp]\nsmtp_password = {fake[2]}\nsmtp_user = me\n",
            "webserver_config.py": f'OAUTH = {{"token_key": "access_token", "client_secret": "{fake[3]}"}}\n',
            "extra.yaml": f"client_secret: {fake[4]}\nsecretName: s\n",
        },
    }
    findings = [
        str(problem) for problem in credential_findings(split_manifests(_text(deployment, config_map)))
    ]
    assert findings == [
        "Deployment/d: spec.containers[c].env[0]: SMTP_PASSWORD is a literal value; "
        "take it from a secretKeyRef",
        "Deployment/d: spec.containers[c].env[1]: DB holds a URL with a password",
        "ConfigMap/c: data.airflow.cfg[smtp].smtp_password: a credential in a ConfigMap",
        "ConfigMap/c: data.extra.yaml: client_secret is assigned a literal in a ConfigMap",
        "ConfigMap/c: data.webserver_config.py: client_secret is assigned a literal in a ConfigMap",
    ]


def _deployment(image: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {
                    "initContainers": [{"name": "init", "image": image}],
                    "containers": [{"name": "c", "image": image}],
                },
            },
        },
    }


def test_prod_requires_every_image_by_digest(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(_text(_deployment("redis:7.2-bookworm"))))
    assert cli.main(["--env", "prod"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "Deployment/d: initContainers[init].image: image 'redis:7.2-bookworm' is not pinned by digest",
        "Deployment/d: containers[c].image: image 'redis:7.2-bookworm' is not pinned by digest",
    ]
    assert out[-1].startswith("chart-check (prod): 1 objects")


@pytest.mark.parametrize(("env", "image"), [("dev", "redis:7.2"), ("prod", f"redis:7.2@sha256:{'a' * 64}")])
def test_images_pass_where_tags_are_allowed_or_digests_given(env: str, image: str, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(_text(_deployment(image))))
    assert cli.main(["--env", env]) == 0
