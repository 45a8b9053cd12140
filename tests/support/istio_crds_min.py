"""A small stand-in for Istio's crd-all.gen.yaml, used only when ../shared/istio-upstream is absent.

Same groups, kinds, plurals, short names and served versions as upstream; the
schemas are reduced to ``x-kubernetes-preserve-unknown-fields``.
"""

KINDS = [
    ("networking.istio.io", "Gateway", "gateways", ["gw"], ["v1", "v1beta1", "v1alpha3"]),
    ("networking.istio.io", "VirtualService", "virtualservices", ["vs"], ["v1", "v1beta1", "v1alpha3"]),
    ("networking.istio.io", "DestinationRule", "destinationrules", ["dr"], ["v1", "v1beta1", "v1alpha3"]),
    ("networking.istio.io", "ServiceEntry", "serviceentries", ["se"], ["v1", "v1beta1", "v1alpha3"]),
    ("networking.istio.io", "Sidecar", "sidecars", [], ["v1", "v1beta1", "v1alpha3"]),
    ("networking.istio.io", "EnvoyFilter", "envoyfilters", [], ["v1alpha3"]),
    ("security.istio.io", "PeerAuthentication", "peerauthentications", ["pa"], ["v1", "v1beta1"]),
    ("security.istio.io", "AuthorizationPolicy", "authorizationpolicies", ["ap"], ["v1", "v1beta1"]),
    ("security.istio.io", "RequestAuthentication", "requestauthentications", ["ra"], ["v1", "v1beta1"]),
    ("telemetry.istio.io", "Telemetry", "telemetries", ["telemetry"], ["v1", "v1alpha1"]),
]


def crds():
    out = []
    for group, kind, plural, short, versions in KINDS:
        out.append({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}", "labels": {"app": "istio-pilot", "release": "istio"}},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower(),
                               "shortNames": short, "categories": ["istio-io"]},
                     "versions": [{"name": v, "served": True, "storage": i == 0, "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}
                                  for i, v in enumerate(versions)]}})
    return out
