"""Resource types known to the loopback Kubernetes API: built-ins and CRD-registered kinds."""

from __future__ import annotations

import dataclasses
import threading


@dataclasses.dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple = ()
    subresources: tuple = ()  # e.g. ("status", "scale")
    from_crd: bool = False
    # merge keys of associative lists, by field name (used for strategic merge
    # patch and server-side apply on built-in kinds); CRD lists are atomic.
    merge_keys: tuple = ()

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self):
        return self.kind.lower()

    @property
    def list_kind(self):
        return self.kind + "List"

    @property
    def gvk(self):
        return (self.group, self.version, self.kind)


# Associative lists of the core API and the key each merges by, as in the
# Kubernetes Go types' patchMergeKey / listMapKeys (the subset our product uses).
POD_MERGE_KEYS = (
    ("containers", ("name",)),
    ("initContainers", ("name",)),
    ("ephemeralContainers", ("name",)),
    ("env", ("name",)),
    ("volumes", ("name",)),
    ("volumeMounts", ("mountPath",)),
    ("imagePullSecrets", ("name",)),
    ("ports", ("containerPort", "protocol")),
    ("ownerReferences", ("uid",)),
    ("conditions", ("type",)),
    ("finalizers", None),  # set of scalars
)
SERVICE_MERGE_KEYS = (("ports", ("port", "protocol")), ("ownerReferences", ("uid",)), ("finalizers", None))
META_MERGE_KEYS = (("ownerReferences", ("uid",)), ("finalizers", None), ("conditions", ("type",)))

_V1 = [
    ("Namespace", "namespaces", False, ("ns",), ("status",), META_MERGE_KEYS),
    ("Secret", "secrets", True, (), (), META_MERGE_KEYS),
    ("ConfigMap", "configmaps", True, ("cm",), (), META_MERGE_KEYS),
    ("Service", "services", True, ("svc",), ("status",), SERVICE_MERGE_KEYS),
    ("ServiceAccount", "serviceaccounts", True, ("sa",), (), META_MERGE_KEYS),
    ("Pod", "pods", True, ("po",), ("status",), POD_MERGE_KEYS),
    ("Endpoints", "endpoints", True, ("ep",), (), META_MERGE_KEYS),
    ("Node", "nodes", False, ("no",), ("status",), META_MERGE_KEYS),
    ("PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",), ("status",), META_MERGE_KEYS),
    ("Event", "events", True, ("ev",), (), META_MERGE_KEYS),
]
_GROUPED = [
    ("apps", "v1", "Deployment", "deployments", True, ("deploy",), ("status", "scale"), POD_MERGE_KEYS),
    ("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), ("status",), POD_MERGE_KEYS),
    ("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), ("status", "scale"), POD_MERGE_KEYS),
    ("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), ("status",), POD_MERGE_KEYS),
    ("batch", "v1", "Job", "jobs", True, (), ("status",), POD_MERGE_KEYS),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",), (), META_MERGE_KEYS),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), ("status",), META_MERGE_KEYS),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", True, (), (), META_MERGE_KEYS),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, (), (), META_MERGE_KEYS),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, (), (), META_MERGE_KEYS),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, (), (), META_MERGE_KEYS),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, ("crd", "crds"),
     ("status",), META_MERGE_KEYS),
    ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", False, (),
     (), META_MERGE_KEYS + (("webhooks", ("name",)),)),
    ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", False,
     (), (), META_MERGE_KEYS + (("webhooks", ("name",)),)),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("pdb",), ("status",), META_MERGE_KEYS),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ("hpa",), ("status",),
     META_MERGE_KEYS),
    ("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ("hpa",), ("status",),
     META_MERGE_KEYS),
]


def builtin_types():
    types = [ResourceType("", "v1", k, p, ns, sn, sub, merge_keys=mk) for k, p, ns, sn, sub, mk in _V1]
    types += [ResourceType(g, v, k, p, ns, sn, sub, merge_keys=mk) for g, v, k, p, ns, sn, sub, mk in _GROUPED]
    return types


class Registry:
    """Thread-safe table of served resource types, keyed by (group, version, plural)."""

    def __init__(self):
        self._lock = threading.RLock()
        self._types = {}
        for rt in builtin_types():
            self.add(rt)

    def add(self, rt):
        with self._lock:
            self._types[(rt.group, rt.version, rt.plural)] = rt

    def remove_crd(self, group, plural):
        with self._lock:
            for key in [k for k, rt in self._types.items() if rt.from_crd and k[0] == group and k[2] == plural]:
                del self._types[key]

    def get(self, group, version, plural):
        with self._lock:
            return self._types.get((group, version, plural))

    def by_kind(self, api_version, kind):
        group, _sep, version = api_version.rpartition("/")
        with self._lock:
            for rt in self._types.values():
                if rt.group == group and rt.version == version and rt.kind == kind:
                    return rt
        return None

    def all(self):
        with self._lock:
            return list(self._types.values())

    def groups(self):
        """{group: [versions]} with the preferred (first registered) version first."""
        out = {}
        for rt in self.all():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return out

    def types_from_crd(self, crd):
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        namespaced = spec.get("scope", "Namespaced") == "Namespaced"
        out = []
        for ver in spec.get("versions") or []:
            if not ver.get("served", True):
                continue
            subs = tuple(sorted((ver.get("subresources") or {}).keys()))
            out.append(ResourceType(
                spec["group"], ver["name"], names["kind"], names["plural"], namespaced,
                tuple(names.get("shortNames") or ()), subs, from_crd=True))
        return out
