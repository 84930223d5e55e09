"""Every compose file, Kubernetes manifest and the Dockerfile under infra/ refer only to things
the project has: DECLUTTER_* settings that crawler/config.py reads, the server's port and routes,
declutter subcommands, crawls defined in the crawls ConfigMap, and volumes, ConfigMaps, Secrets
and ports that are declared. Parsed with PyYAML; nothing is deployed (no Docker engine here)."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from crawler.cli import build_parser
from crawler.crawl.definitions import parse_crawl
from server.app import routes
from tests.kit.paths import ROOT

INFRA = ROOT / "infra"
K8S = INFRA / "k8s"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


def known_settings() -> set[str]:
    source = (ROOT / "crawler" / "config.py").read_text(encoding="utf-8")
    return {f"DECLUTTER_{name}" for name in re.findall(r'_env(?:_bool|_list)?\(\s*"([A-Z0-9_]+)"', source)}


def subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return set(action.choices)


def route_paths() -> set[str]:
    return {route.path for route in routes()}


def is_ours(image: str) -> bool:
    name = image.rsplit("/", 1)[-1].split(":")[0]
    return name == "declutter"


def pinned(image: str) -> bool:
    tail = image.rsplit("/", 1)[-1]
    return ":" in tail and not tail.endswith(":latest")


def k8s_docs() -> list[tuple[Path, dict[str, Any]]]:
    docs = []
    for path in sorted([*K8S.glob("*.yaml"), *K8S.glob("*.yml")]):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc.get("kind") != "Kustomization":
                docs.append((path, doc))
    return docs


def compose_files() -> list[Path]:
    return sorted(p for p in [*INFRA.glob("*.yml"), *INFRA.glob("*.yaml")]
                  if "services" in (yaml.safe_load(p.read_text(encoding="utf-8")) or {}))


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def test_there_is_something_to_check() -> None:
    kinds = {doc["kind"] for _, doc in k8s_docs()}
    assert {"Deployment", "Service", "CronJob", "StatefulSet", "ConfigMap", "Secret"} <= kinds
    names = {doc["metadata"]["name"] for _, doc in k8s_docs()}
    assert {"declutter-server", "declutter-worker", "minio", "postgres", "redis"} <= names
    assert INFRA / "docker-compose.yml" in compose_files()
    assert known_settings() >= {"DECLUTTER_REDIS_URL", "DECLUTTER_DATABASE_URL", "DECLUTTER_PORT"}


def test_kustomization_lists_existing_files() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), f"kustomization lists missing {resource}"
    assert any(i["name"] == "declutter" for i in kustomization.get("images", []))


class Cluster:
    """The manifests indexed by kind and name, with the checks that need more than one doc."""

    def __init__(self) -> None:
        self.docs = k8s_docs()
        self.by_kind: dict[str, dict[str, dict[str, Any]]] = {}
        for path, doc in self.docs:
            assert {"apiVersion", "kind", "metadata"} <= set(doc), f"{path.name}: not a manifest"
            self.by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
        self.settings = known_settings()

    def data(self, kind: str, name: str) -> dict[str, str]:
        doc = self.by_kind.get(kind, {}).get(name)
        assert doc is not None, f"{kind} {name!r} is referenced but not defined under infra/k8s"
        return {**doc.get("data", {}), **doc.get("stringData", {})}

    def config(self) -> dict[str, str]:
        return self.data("ConfigMap", "declutter-config")


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster()


def test_configmaps_and_secrets_name_only_real_settings(cluster: Cluster) -> None:
    for kind in ("ConfigMap", "Secret"):
        for name, doc in cluster.by_kind.get(kind, {}).items():
            for key in {**doc.get("data", {}), **doc.get("stringData", {})}:
                if key.startswith("DECLUTTER_"):
                    assert key in cluster.settings, f"{kind} {name}: {key} is not in crawler/config.py"


def test_workloads_reference_what_exists(cluster: Cluster) -> None:
    commands = subcommands()
    config = cluster.config()
    crawls_path = PurePosixPath(config["DECLUTTER_CRAWLS_FILE"])
    crawls_toml = cluster.data("ConfigMap", "declutter-crawls")[crawls_path.name]
    crawls = {
        name: parse_crawl(name, raw, base_dir=Path("/"), where="declutter-crawls")
        for name, raw in tomllib.loads(crawls_toml).get("crawls", {}).items()
    }
    checked = 0
    for kind in WORKLOADS:
        for name, doc in cluster.by_kind.get(kind, {}).items():
            where = f"{kind} {name}"
            spec = pod_spec(doc)
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            claims = {t["metadata"]["name"] for t in doc["spec"].get("volumeClaimTemplates", [])}
            for volume in volumes.values():
                if "configMap" in volume:
                    cluster.data("ConfigMap", volume["configMap"]["name"])
                if "secret" in volume:
                    cluster.data("Secret", volume["secret"]["secretName"])
            for container in spec["containers"]:
                checked += 1
                image = container["image"]
                env: dict[str, str] = {}
                for source in container.get("envFrom", []):
                    if "configMapRef" in source:
                        env.update(cluster.data("ConfigMap", source["configMapRef"]["name"]))
                    if "secretRef" in source:
                        env.update(cluster.data("Secret", source["secretRef"]["name"]))
                for var in container.get("env", []):
                    ref = var.get("valueFrom", {})
                    for ref_kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                        if key in ref:
                            values = cluster.data(ref_kind, ref[key]["name"])
                            assert ref[key]["key"] in values, f"{where}: no key {ref[key]['key']}"
                            env[var["name"]] = values[ref[key]["key"]]
                    if "value" in var:
                        env[var["name"]] = var["value"]
                for key in env:
                    if key.startswith("DECLUTTER_"):
                        assert key in cluster.settings, f"{where}: {key} is not in crawler/config.py"
                mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
                for mount in mounts.values():
                    assert mount["name"] in volumes or mount["name"] in claims, \
                        f"{where}: mounts undeclared volume {mount['name']}"
                    volume = volumes.get(mount["name"], {})
                    if "subPath" in mount and "secret" in volume:
                        assert mount["subPath"] in cluster.data("Secret", volume["secret"]["secretName"])
                ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    http = container.get(probe, {}).get("httpGet")
                    if http:
                        assert http["port"] in ports or http["port"] in ports.values(), \
                            f"{where}: {probe} port {http['port']} is not a container port"
                if not is_ours(image):
                    assert pinned(image), f"{where}: pin {image} to a version"
                    continue
                assert image == "declutter", f"{where}: use the image name kustomization maps"
                args = container.get("command", []) + container.get("args", [])
                assert args and args[0] in commands, f"{where}: `declutter {args[:1]}` is no command"
                assert config["DECLUTTER_DATA_DIR"] in mounts, f"{where}: data dir not mounted"
                crawls_mount = mounts.get(str(crawls_path.parent))
                assert crawls_mount is not None, f"{where}: crawls file not mounted"
                assert "configMap" in volumes[crawls_mount["name"]]
                if args[0] == "serve":
                    assert ports.get("http") == int(config["DECLUTTER_PORT"])
                    for probe in ("readinessProbe", "livenessProbe"):
                        assert container[probe]["httpGet"]["path"] in route_paths()
                if args[0] == "crawl":
                    assert args[1] in crawls, f"{where}: no crawl {args[1]!r} in declutter-crawls"
                    assert doc["kind"] == "CronJob"
                    assert doc["spec"]["schedule"] == crawls[args[1]].schedule
                    assert doc["spec"]["concurrencyPolicy"] == "Forbid"
    assert checked >= 6


def test_services_point_at_named_ports_of_their_pods(cluster: Cluster) -> None:
    pods = []
    for kind in WORKLOADS:
        for doc in cluster.by_kind.get(kind, {}).values():
            template = doc["spec"]["template"] if kind != "CronJob" else None
            if template:
                pods.append((template.get("metadata", {}).get("labels", {}), template["spec"]))
    for name, service in cluster.by_kind.get("Service", {}).items():
        selector = service["spec"]["selector"]
        matching = [spec for labels, spec in pods if selector.items() <= labels.items()]
        assert matching, f"Service {name} selects no pods"
        ports = {(p.get("name"), p["containerPort"]) for spec in matching
                 for c in spec["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert any(target in pair for pair in ports), f"Service {name}: no port {target}"


def test_minio_runs_distributed_on_four_nodes(cluster: Cluster) -> None:
    minio = cluster.by_kind["StatefulSet"]["minio"]
    assert minio["spec"]["replicas"] == 4
    args = minio["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "{0...3}" in " ".join(args) and minio["spec"]["serviceName"] in " ".join(args)
    endpoint = cluster.config()["DECLUTTER_S3_ENDPOINT"]
    assert endpoint.split(".")[0] == "minio" and endpoint.endswith(":9000")


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: str(v) for k, v in env.items()}


def dockerfile_env(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for item in shlex.split(line[4:]):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def volume_parts(volume: str) -> tuple[str, str]:
    """A short-syntax compose volume: (source, target)."""
    match = re.fullmatch(r"(\$\{[^}]*\}|[^:]+):([^:]+)(?::(?:ro|rw))?", volume)
    assert match, f"cannot read volume {volume!r}"
    return match.group(1), match.group(2)


def default_path(value: str) -> str:
    """``${VAR:-default}`` -> default."""
    match = re.fullmatch(r"\$\{[A-Z_]+:-([^}]*)\}", value)
    return match.group(1) if match else value


@pytest.mark.parametrize("path", compose_files(), ids=lambda p: p.name)
def test_compose_file_references_exist(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings, commands = known_settings(), subcommands()
    services = data["services"]
    declared = set(data.get("volumes") or {})
    built = {}
    for name, service in services.items():
        if "build" in service:
            context = (path.parent / service["build"]["context"]).resolve()
            dockerfile = context / service["build"].get("dockerfile", "Dockerfile")
            assert dockerfile.is_file(), f"{name}: no {dockerfile}"
            built[service["image"]] = dockerfile
    for name, service in services.items():
        image = service["image"]
        for dep in service.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
        env = compose_env(service)
        for key in env:
            if key.startswith("DECLUTTER_"):
                assert key in settings, f"{path.name} {name}: {key} is not in crawler/config.py"
        for volume in service.get("volumes", []):
            source, _ = volume_parts(volume)
            if source.startswith(("/", ".", "$")):
                source = default_path(source)
                assert (path.parent / source).exists(), f"{name}: bind source {source} missing"
            else:
                assert source in declared, f"{name}: volume {source} not declared"
        if not is_ours(image):
            assert pinned(image), f"{path.name} {name}: pin {image} to a version"
            continue
        assert image in built, f"{name}: image {image} is built by no service"
        env = {**dockerfile_env(built[image]), **env}
        command = service.get("command", ["serve"])
        assert command[0] in commands, f"{name}: `declutter {command[0]}` is no command"
        targets = {volume_parts(v)[1] for v in service["volumes"]}
        assert env["DECLUTTER_DATA_DIR"] in targets and env["DECLUTTER_CRAWLS_FILE"] in targets
        if command[0] == "serve":
            published = {p.rsplit(":", 1)[-1] for p in service["ports"]}
            assert env["DECLUTTER_PORT"] in published
            probe = " ".join(service["healthcheck"]["test"])
            url = re.search(r"http://[^/]+:(\d+)(/[a-z]*)", probe)
            assert url and url.group(1) == env["DECLUTTER_PORT"] and url.group(2) in route_paths()


def test_dockerfile_matches_the_configuration() -> None:
    path = INFRA / "Dockerfile"
    text = path.read_text(encoding="utf-8")
    env = dockerfile_env(path)
    assert set(k for k in env if k.startswith("DECLUTTER_")) <= known_settings()
    assert re.search(rf"^EXPOSE {env['DECLUTTER_PORT']}$", text, re.M)
    health = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", text)
    assert health and health.group(1) == env["DECLUTTER_PORT"] and health.group(2) in route_paths()
    for line in text.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    assert "playwright install" not in text, "Chromium comes from Debian, never a download"
    assert env["DECLUTTER_CHROMIUM"] == "/usr/lib/chromium/chromium"
