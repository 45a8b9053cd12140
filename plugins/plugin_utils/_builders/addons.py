# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Istio's addon manifests (Prometheus, Grafana, Kiali, Jaeger), wired to the credential Secrets.

This file is private to the aksmesh.istio collection: its contents may change at any time.

- Grafana: anonymous admin access off, basic auth on, the admin user and password read from the
  Grafana credential Secret (``username``/``passphrase``) instead of upstream's ``admin``/``admin``.
- Kiali: upstream ships ``auth.strategy: anonymous`` and the signing key ``CHANGEME00000000``; we set ``token``
  (log in with a service-account token: ``kubectl create token``) and mount the session-signing key the credential
  Secret carries (``signing-key``, derived from the vaulted passphrase) where Kiali v2 reads its override secrets
  (``/kiali-override-secrets/login-token-signing-key/value.txt``), so no deployment shares the upstream key.
- Kiali knows the other addons: upstream's ConfigMap names ``istio-system`` (``deployment.namespace``,
  ``external_services.istio.root_namespace``) and leaves tracing off; we give it the addons' namespace and the
  method's root namespace, and the in-cluster URLs of the Prometheus, Grafana and Jaeger installed with it (their
  Services and ports as upstream's manifests define them; tracing and Grafana off when they are not installed).
  Grafana's anonymous access is off, so Kiali logs in with the Grafana credential Secret: the ConfigMap only names
  it (``secret:<name>:username``/``passphrase``, Kiali's notation), and the Secret's two keys are mounted as
  Kiali's override files (``/kiali-override-secrets/grafana-username``/``grafana-password``), which Kiali reads
  over the ConfigMap's values: no credential is in the ConfigMap or the render folder.
- Secrets from Azure Key Vault (``secrets_store``): the credential Secrets are synced by the Secrets Store CSI driver
  from the ``SecretProviderClass`` of the same name, which happens only while a pod mounts it: Grafana and Kiali
  mount theirs (``/mnt/secrets-store``), so their Secrets exist before their containers read them.
- Telemetry: one mesh-wide ``Telemetry`` in the root namespace turns on tracing to the OpenTelemetry provider the
  install configured (Jaeger's collector), with a sampling percentage, and Envoy access logging.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, labels, obj
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import ADDON_LABEL

try:
    import yaml

    HAS_YAML = True
except ImportError:
    HAS_YAML = False

# addon -> (Service name, port name or number for the UI, local port)
DASHBOARDS = {
    "prometheus": ("prometheus", 9090, 9090),
    "grafana": ("grafana", 3000, 3000),
    "kiali": ("kiali", 20001, 20001),
    "jaeger": ("tracing", 80, 16686),
}
LOGIN = {"grafana": "user and passphrase of the Secret grafana (your vaulted aksmesh_grafana_* values)",
         "kiali": "a service-account token: kubectl -n {ns} create token kiali"}
# Jaeger's query API: gRPC on the Service's grpc-query port, under the base path of upstream's Jaeger config
JAEGER_QUERY_GRPC_PORT = 16685
JAEGER_BASE_PATH = "/jaeger"
# the Istio dashboards Grafana provisions that Kiali links to, with the Grafana variables Kiali fills in
GRAFANA_DASHBOARDS = (
    ("Istio Service Dashboard", {"namespace": "var-namespace", "service": "var-service"}),
    ("Istio Workload Dashboard", {"namespace": "var-namespace", "workload": "var-workload"}),
    ("Istio Mesh Dashboard", {}),
    ("Istio Control Plane Dashboard", {}),
    ("Istio Performance Dashboard", {}),
    ("Istio Wasm Extension Dashboard", {}),
)
CLUSTER_SCOPED = ("ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace",
                  "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def _secret_env(name, secret, key):
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def wire_grafana(dep, secret):
    for container in dep["spec"]["template"]["spec"]["containers"]:
        if container.get("name") != "grafana":
            continue
        drop = ("GF_AUTH_ANONYMOUS_ENABLED", "GF_AUTH_ANONYMOUS_ORG_ROLE", "GF_AUTH_BASIC_ENABLED",
                "GF_SECURITY_ADMIN_USER", "GF_SECURITY_ADMIN_PASSWORD")
        env = [e for e in container.get("env") or [] if e.get("name") not in drop]
        env += [{"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "false"},
                {"name": "GF_AUTH_BASIC_ENABLED", "value": "true"},
                _secret_env("GF_SECURITY_ADMIN_USER", secret, "username"),
                _secret_env("GF_SECURITY_ADMIN_PASSWORD", secret, "passphrase")]
        container["env"] = env
        return True
    return False


def service_url(addon, namespace, port=None, path=""):
    """The in-cluster URL of ``addon``'s Service in ``namespace`` (the Service and port of the DASHBOARDS table)."""
    service, service_port, _local = DASHBOARDS[addon]
    return "http://%s.%s:%d%s" % (service, namespace, port or service_port, path)


def kiali_external_services(enabled, namespace, root_namespace, grafana_secret):
    """Kiali's ``external_services`` for the addons installed with it (``enabled``) in ``namespace``: Prometheus,
    Grafana (basic auth with the user and passphrase of the Grafana credential Secret, referenced as
    ``secret:<name>:<key>``, never the values) and Jaeger (its query API over gRPC); the Istio root namespace."""
    out = {"istio": {"root_namespace": root_namespace}}
    if "prometheus" in enabled:
        out["prometheus"] = {"url": service_url("prometheus", namespace)}
    out["grafana"] = {"enabled": "grafana" in enabled}
    if "grafana" in enabled:
        out["grafana"].update(internal_url=service_url("grafana", namespace),
                              external_url="http://localhost:%d" % DASHBOARDS["grafana"][2],
                              dashboards=[{"name": name, "variables": dict(variables, datasource="var-datasource")}
                                          for name, variables in GRAFANA_DASHBOARDS])
        if grafana_secret:
            out["grafana"]["auth"] = {"type": "basic", "username": "secret:%s:username" % grafana_secret,
                                      "password": "secret:%s:passphrase" % grafana_secret}
    out["tracing"] = {"enabled": "jaeger" in enabled}
    if "jaeger" in enabled:
        out["tracing"].update(
            provider="jaeger", use_grpc=True, grpc_port=JAEGER_QUERY_GRPC_PORT,
            internal_url=service_url("jaeger", namespace, JAEGER_QUERY_GRPC_PORT, JAEGER_BASE_PATH),
            external_url="http://localhost:%d%s" % (DASHBOARDS["jaeger"][2], JAEGER_BASE_PATH))
    return out


def _merge(into, update):
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
    return into


def wire_kiali(cm, strategy, namespace="", external_services=None):
    """Kiali's ConfigMap: the login strategy, the namespace it runs in and its ``external_services``."""
    config = yaml.safe_load(cm["data"]["config.yaml"]) or {}
    config.setdefault("auth", {})["strategy"] = strategy
    if namespace:
        config.setdefault("deployment", {})["namespace"] = namespace
    if external_services:
        _merge(config.setdefault("external_services", {}), external_services)
    cm["data"]["config.yaml"] = yaml.safe_dump(config, default_flow_style=False, sort_keys=True)


# Kiali reads each credential from the file <dir>/value.txt when it exists, over the ConfigMap's value
KIALI_OVERRIDE_SECRETS = "/kiali-override-secrets"
KIALI_SIGNING_KEY_DIR = KIALI_OVERRIDE_SECRETS + "/login-token-signing-key"
# the Grafana credential Secret's key -> Kiali's override file for it
KIALI_GRAFANA_CREDENTIALS = (("username", "grafana-username"), ("passphrase", "grafana-password"))


def mount(dep, container_name, volume, mount_path):
    """Mount ``volume`` read-only at ``mount_path`` in the container ``container_name`` (replacing a volume and
    mount of the same name); False when the Deployment has no such container."""
    spec = dep["spec"]["template"]["spec"]
    for container in spec.get("containers") or []:
        if container.get("name") != container_name:
            continue
        mounts = [m for m in container.get("volumeMounts") or [] if m.get("name") != volume["name"]]
        container["volumeMounts"] = mounts + [{"name": volume["name"], "mountPath": mount_path, "readOnly": True}]
        spec["volumes"] = [v for v in spec.get("volumes") or [] if v.get("name") != volume["name"]] + [volume]
        return True
    return False


def wire_kiali_grafana_credentials(dep, secret):
    """Mount the Grafana credential Secret's user and passphrase where Kiali reads its Grafana credentials."""
    mounted = [mount(dep, "kiali", {"name": "aksmesh-" + name, "secret": {
        "secretName": secret, "items": [{"key": key, "path": "value.txt"}]}}, KIALI_OVERRIDE_SECRETS + "/" + name)
        for key, name in KIALI_GRAFANA_CREDENTIALS]  # every credential mounted (a list: no mount left out)
    return all(mounted)


def wire_kiali_signing_key(dep, secret):
    """Mount the credential Secret's ``signing-key`` as Kiali's login-token signing key."""
    return mount(dep, "kiali", {"name": "aksmesh-signing-key", "secret": {
        "secretName": secret, "items": [{"key": "signing-key", "path": "value.txt"}]}}, KIALI_SIGNING_KEY_DIR)


def mount_secrets_store(dep, container_name, provider_class):
    """Mount the SecretProviderClass ``provider_class`` in the container ``container_name``: the CSI driver syncs
    its ``secretObjects`` into the Secret of the same name only while a pod mounts it."""
    return mount(dep, container_name, {"name": "aksmesh-secrets-store", "csi": {
        "driver": "secrets-store.csi.k8s.io", "readOnly": True,
        "volumeAttributes": {"secretProviderClass": provider_class}}}, "/mnt/secrets-store")


def telemetry(root_namespace, tracing_provider, tracing_sampling):
    """The mesh-wide Telemetry in the root namespace: tracing to ``tracing_provider`` (none when empty) at
    ``tracing_sampling`` percent, Envoy access logs."""
    if not root_namespace:
        raise MeshConfigError("root_namespace", "is empty: name the Istio root namespace (the mesh-wide Telemetry "
                                                "goes there)")
    spec = {"accessLogging": [{"providers": [{"name": "envoy"}]}]}
    if tracing_provider:
        sampling = float(tracing_sampling)
        if not 0 <= sampling <= 100:
            raise MeshConfigError("tracing_sampling", "%s: give a percentage from 0 to 100" % sampling)
        spec["tracing"] = [{"providers": [{"name": tracing_provider}], "randomSamplingPercentage": sampling}]
    return [obj("telemetry.istio.io/v1", "Telemetry", "mesh-default", root_namespace, spec)]


def _objects(manifest):
    """The objects of one addon manifest: its YAML text, or the objects already loaded."""
    return [d for d in yaml.safe_load_all(manifest) if d] if isinstance(manifest, str) else manifest or []


def addon_manifests(manifests, namespace, grafana_secret, kiali_secret, kiali_auth_strategy, root_namespace,
                    tracing_provider, tracing_sampling, secrets_store):
    """``manifests``: {addon: its upstream manifest (YAML text or objects)} -> the objects, wired, in addon order,
    and the mesh-wide Telemetry (tracing only when Jaeger is among the addons). With ``secrets_store`` Grafana and
    Kiali mount the SecretProviderClasses named after their credential Secrets."""
    if not namespace:
        raise MeshConfigError("namespace", "is empty: name the namespace of the addons")
    out = []
    for addon in sorted(manifests):
        if addon not in DASHBOARDS:
            raise MeshConfigError("manifests", "unknown addon %s; choose from %s" % (addon, ", ".join(sorted(
                DASHBOARDS))))
        for doc in _objects(manifests[addon]):
            if not isinstance(doc, dict) or not doc.get("kind"):
                continue
            doc = copy.deepcopy(doc)
            meta = doc.setdefault("metadata", {})
            if doc["kind"] not in CLUSTER_SCOPED:
                meta["namespace"] = namespace
            meta["labels"] = dict(meta.get("labels") or {}, **labels({ADDON_LABEL: addon}))
            if doc["kind"] == "Deployment" and addon == "grafana" and grafana_secret:
                wire_grafana(doc, grafana_secret)
            if doc["kind"] == "ConfigMap" and meta.get("name") == "kiali":
                wire_kiali(doc, kiali_auth_strategy, namespace, kiali_external_services(
                    manifests, namespace, root_namespace, grafana_secret))
            if doc["kind"] == "Deployment" and addon == "kiali" and kiali_secret and kiali_auth_strategy == "token":
                wire_kiali_signing_key(doc, kiali_secret)
            if doc["kind"] == "Deployment" and addon == "kiali" and grafana_secret and "grafana" in manifests:
                wire_kiali_grafana_credentials(doc, grafana_secret)
            secret = {"grafana": grafana_secret, "kiali": kiali_secret}.get(addon)
            if doc["kind"] == "Deployment" and secrets_store and secret:
                mount_secrets_store(doc, addon, secret)
            out.append(_retarget_bindings(doc, namespace))
    if manifests:
        out += telemetry(root_namespace, tracing_provider if "jaeger" in manifests else "", tracing_sampling)
    return out


def _retarget_bindings(doc, namespace):
    """ClusterRoleBindings in the upstream files name istio-system service accounts: follow the namespace."""
    if doc["kind"] in ("ClusterRoleBinding", "RoleBinding"):
        for subject in doc.get("subjects") or []:
            if subject.get("kind") == "ServiceAccount":
                subject["namespace"] = namespace
    return doc


def dashboards(enabled, namespace):
    """How to reach each of the ``enabled`` addons in ``namespace``: port-forward, URL, istioctl, login."""
    out = []
    for addon in sorted(enabled):
        service, port, local = DASHBOARDS[addon]
        out.append({"addon": addon, "namespace": namespace, "service": service, "url": "http://localhost:%d" % local,
                    "port_forward": "kubectl -n %s port-forward svc/%s %d:%d" % (namespace, service, local, port),
                    "istioctl": "istioctl dashboard %s -n %s" % ("jaeger" if addon == "jaeger" else addon,
                                                                 namespace),
                    "login": LOGIN.get(addon, "").replace("{ns}", namespace)})
    return out
