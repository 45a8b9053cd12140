"""The CustomResourceDefinition AKS installs with its Static Egress Gateway feature (StaticGatewayConfiguration of
egressgateway.kubernetes.azure.com/v1alpha1, from Azure/kube-egress-gateway), for tests whose API server stands in
for an AKS cluster. AKS manages this CRD, as ARM manages the cluster, so nothing real can install it here.

Group, kind, version and the spec fields the collection writes follow the upstream API types; the rest of the
schema is reduced to ``x-kubernetes-preserve-unknown-fields``.
"""

STATIC_GATEWAY_CONFIGURATION = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "staticgatewayconfigurations.egressgateway.kubernetes.azure.com"},
    "spec": {
        "group": "egressgateway.kubernetes.azure.com", "scope": "Namespaced",
        "names": {"kind": "StaticGatewayConfiguration", "listKind": "StaticGatewayConfigurationList",
                  "plural": "staticgatewayconfigurations", "singular": "staticgatewayconfiguration"},
        "versions": [{
            "name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                "spec": {"type": "object", "properties": {
                    "gatewayNodepoolName": {"type": "string"},
                    "publicIpPrefixId": {"type": "string"},
                    "gatewayVmssProfile": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
        }],
    },
}
