"""Every bad input to the main roles gets a named error (the variable, and what is wrong) before anything changes.

The module table is tests/integration/modules/test_bad_inputs.py; this is the roles' (issue: hardening). All rows
run in one ansible-playbook, one inventory host per row (each fails on its own), against the real API server: no
row may write anything, and no row's message may be a traceback or a templating error without the variable.
"""

import yaml

from tests.support.ansible_runner import run_playbook

GW = {"name": "shop-gw", "hosts": ["shop.example.com"]}
VS = {"name": "productpage", "namespace": "shop", "hosts": ["shop.example.com"], "gateways": ["shop-gw"],
      "http": [{"route": [{"destination": {"host": "productpage"}}]}]}

# (role, role variables, text the error must hold)
ROWS = [
    ("mesh_mtls", {"mesh_mtls_mode": "STRICTER"},
     "mesh_mtls_mode: 'STRICTER' is not one of STRICT, PERMISSIVE, DISABLE; did you mean STRICT?"),
    ("mesh_mtls", {"mesh_mtls_root_namespace": "istio-system/x"}, "mesh_mtls_root_namespace"),
    ("mesh_mtls", {"mesh_mtls_exceptions": "shop"}, "mesh_mtls_exceptions"),
    ("mesh_mtls", {"mesh_mtls_state": "gone"}, "mesh_mtls_state: 'gone' is not one of present, absent"),
    ("mesh_gateways", {"mesh_gateways_gateways": [{"hosts": ["a.example.com"]}]}, "mesh_gateways_gateways"),
    ("mesh_gateways", {"mesh_gateways_gateways": [dict(GW, name="Shop_GW")]}, "Shop_GW"),
    ("mesh_gateways", {"mesh_gateways_gateways": [GW, GW]}, "mesh_gateways_gateways: lists shop-gw twice"),
    ("mesh_gateways", {"mesh_gateways_gateways": [GW], "mesh_gateways_virtual_services": [dict(VS, gateways=[
        "istio-ingress/shop-gw/x"])]}, "mesh_gateways_virtual_services: gateway reference 'istio-ingress/shop-gw/x'"),
    ("mesh_gateways", {"mesh_gateways_gateways": [GW], "mesh_gateways_virtual_services": [dict(VS, namespace="Shop")]},
     "mesh_gateways_virtual_services: virtual service productpage: namespace 'Shop'"),
    ("mesh_gateways", {"mesh_gateways_gateways": "shop-gw"}, "mesh_gateways_gateways"),
    ("mesh_certs", {"mesh_certs_gateways": [dict(GW, https={"credential_name": "shop-tls"})]},
     "mesh_certs_existing_secrets: no Certificate of this run makes the Gateway TLS Secret(s) istio-ingress/shop-tls"),
    ("mesh_certs", {"mesh_certs_issuers": [{"name": "le", "type": "acme"}]}, "mesh_certs_issuers: issuer le: type"),
    ("cert_manager", {"cert_manager_install": True, "cert_manager_render_as": "kustomize"},
     "cert_manager_render_as: 'kustomize' is not one of manifests, flux"),
    ("cert_manager", {"cert_manager_install": True, "cert_manager_namespace": "Cert_Manager"},
     "namespace 'Cert_Manager' is not a namespace name"),
    ("mesh_egress", {"mesh_egress_hosts": [{"host": "http://api.stripe.com/"}], "mesh_egress_namespaces": ["shop"]},
     "mesh_egress_hosts"),
    ("mesh_egress", {"mesh_egress_hosts": [{"port": 443}], "mesh_egress_namespaces": ["shop"]}, "mesh_egress_hosts"),
    ("mesh_egress", {"mesh_egress_hosts": [{"host": "api.stripe.com"}]}, "mesh_egress_namespaces: is empty"),
    ("mesh_egress", {"mesh_egress_hosts": [{"host": "api.stripe.com"}], "mesh_egress_namespaces": ["a/b"]},
     "mesh_egress_namespaces[0] 'a/b' is not a DNS-1123 label"),
    ("mesh_traffic", {"mesh_traffic_services": [{"name": "reviews", "namespace": "shop", "subsets": ["v1", "v2"],
                                                 "canary": {"weights": {"v1": 80, "v2": 30}}}]}, "100"),
    ("mesh_traffic", {"mesh_traffic_services": [{"name": "reviews", "namespace": "shop", "subsets": ["v1"],
                                                 "canary": {"weights": {"v3": 100}}}]}, "v3"),
    ("mesh_traffic", {"mesh_traffic_services": [{"namespace": "shop"}]}, "mesh_traffic_services"),
    ("mesh_traffic", {"mesh_traffic_services": [{"name": "reviews", "namespace": "shop",
                                                 "load_balancer": "fastest"}]}, "fastest"),
    ("mesh_network_policies", {"mesh_network_policies_mode": "deny-everything"},
     "mesh_network_policies_mode: 'deny-everything' is not one of default-deny, restrict-all"),
    ("mesh_network_policies", {"mesh_network_policies_istio_namespace": "Istio"},
     "mesh_network_policies_istio_namespace 'Istio' is not a DNS-1123 label"),
    ("mesh_injection", {"mesh_injection_namespaces": [{"name": "kube-system/configmaps/victim"}]},
     "kube-system/configmaps/victim"),
    ("mesh_injection", {"mesh_injection_namespaces": "shop"}, "mesh_injection_namespaces"),
    # issue 23: the cluster's own namespaces get no injection
    ("mesh_injection", {"mesh_injection_namespaces": [{"name": "kube-system"}]},
     "kube-system: a namespace of the cluster itself gets no sidecar injection"),
    # issue 23 §2: nor does the control plane's
    ("mesh_injection", {"mesh_injection_namespaces": [{"name": "shop"}, {"name": "istio-system"}]},
     "mesh_injection_namespaces[1].name: istio-system: the control plane's namespace gets no sidecar injection"),
    # issue 23 §2: an empty list of add-on revisions let Azure pick the newest one
    ("aks_mesh_addon", {"aks_mesh_addon_resource_group": "rg", "aks_mesh_addon_cluster_name": "aks",
                        "aks_mesh_addon_revisions": []}, "aks_mesh_addon_revisions: is empty"),
    ("mesh_injection", {"mesh_injection_namespaces": [{"name": "shop"}], "mesh_injection_revision": "1-30; id"},
     "1-30; id"),
    ("istio_install", {"istio_install_revision": "Canary"}, "istio_install_revision 'Canary' is not a DNS-1123"),
    ("istio_install", {"istio_install_profile": "tiny"},
     "istio_install_profile: 'tiny' is not one of ambient, default"),
    ("istio_install", {"istio_install_hpa_min": "two"}, "istio_install_hpa_min"),
    ("istio_install", {"istio_install_outbound_policy": "OPEN"}, "istio_install_outbound_policy"),
    ("istio_install", {"istio_install_ingress_namespace": "istio_ingress"},
     "istio_install_ingress_namespace 'istio_ingress' is not a DNS-1123 label"),
    ("istio_helm", {"istio_helm_revision": "1.30"}, "istio_helm_revision '1.30' is not a DNS-1123 label"),
    ("istio_helm", {"istio_helm_revision_tags": ["Default"]}, "istio_helm_revision_tags[0] 'Default'"),
    ("istio_helm", {"istio_helm_hpa_max": "lots"}, "istio_helm_hpa_max"),
    ("istio_helm", {"istio_helm_cni_enabled": True, "istio_helm_cni_namespace": "default"},
     "istio_helm_cni_namespace: 'default': the Istio CNI node agent goes into the Istio namespace (istio-system) "
     "or kube-system"),
    ("istio_install", {"istio_install_cni_enabled": "sometimes"}, "istio_install_cni_enabled"),
    ("aks_preflight", {"aks_preflight_resource_group": "rg", "aks_preflight_cluster_name": "aks",
                       "aks_preflight_cni": "maybe"}, "aks_preflight_cni"),
    ("mesh_secrets", {"mesh_secrets_grafana_passphrase": "", "mesh_secrets_kiali_passphrase": "x",
                      "mesh_secrets_grafana_username": "admin", "mesh_secrets_kiali_username": "admin"},
     "mesh_secrets_grafana_passphrase"),
    ("mesh_secrets", {"mesh_secrets_grafana_passphrase": "x", "mesh_secrets_kiali_passphrase": "x",
                      "mesh_secrets_grafana_username": "", "mesh_secrets_kiali_username": "admin"},
     "mesh_secrets_grafana_username: is empty"),
    # issue 23 §2: the spec's type str made the text "['a']" of a list passphrase
    ("mesh_secrets", {"mesh_secrets_grafana_passphrase": ["s3cret"], "mesh_secrets_kiali_passphrase": "x",
                      "mesh_secrets_grafana_username": "admin", "mesh_secrets_kiali_username": "admin"},
     "mesh_secrets_grafana_passphrase: is a list, not a string"),
    # issue 26: a key or a type inside a structured option, refused by the settings role before any stage, with its
    # path and the closest known key
    ("mesh_traffic", {"mesh_traffic_services": [{"name": "a", "namespace": "shop", "timeout": "5s"},
                                                {"name": "b", "namespace": "shop", "timeout": "5s"},
                                                {"name": "c", "namespace": "shop", "retires": {"attempts": 3}}]},
     "mesh_traffic_services[2].retires: unknown key; did you mean retries?"),
    ("mesh_gateways", {"mesh_gateways_gateways": [{"name": "shop-gw", "hosts": "shop.example.com"}]},
     "mesh_gateways_gateways[0].hosts: expected a list, got str 'shop.example.com'"),
    ("mesh_egress", {"mesh_egress_hosts": [{"host": "api.stripe.com", "ports": [{"port": 443, "protcol": "TLS"}]}],
                     "mesh_egress_namespaces": ["shop"]},
     "mesh_egress_hosts[0].ports[0].protcol: unknown key; did you mean protocol?"),
    ("mesh_authz", {"mesh_authz_policies": [{"name": "p", "namespace": "shop", "rules": [{"to": {"methods": ["GET"]}}],
                                             "dryrun": True}]},
     "mesh_authz_policies[0].dryrun: unknown key; did you mean dry_run?"),
    ("mesh_mtls", {"mesh_mtls_exceptions": [{"namespace": "shop", "mode": "permissive"}]},
     "mesh_mtls_exceptions[0].mode: 'permissive' is not one of STRICT, PERMISSIVE, DISABLE; did you mean PERMISSIVE?"),
]


def test_bad_role_inputs_are_named_before_anything_changes(kube_api, kubeconfig, tmp_path):
    hosts = {"row%02d" % i: dict(vars_, row_role=role) for i, (role, vars_, _needle) in enumerate(ROWS)}
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": {
        "aksmesh_target": "cluster", "aksmesh_kubeconfig": kubeconfig, "ansible_connection": "local"}}}))
    play = [{"name": "bad role inputs", "hosts": "all", "gather_facts": False,
             "module_defaults": {"group/aksmesh.istio.k8s": {"kubeconfig": "{{ settings_mesh.connection.kubeconfig }}"}},
             "tasks": [{"name": "Settings", "ansible.builtin.import_role": {"name": "aksmesh.istio.settings"}},
                       {"name": "The role", "ansible.builtin.include_role": {"name": "aksmesh.istio.{{ row_role }}"}}]}]
    kube_api.clear_log()
    run = run_playbook(play, tmp_path, inventory=inv, env={"ANSIBLE_FORKS": "4"}, timeout=900)
    failed = {}
    for r in run.results:
        if r["status"] == "failed":
            failed.setdefault(r["host"], str(r["result"].get("msg")))
    problems = []
    for i, (role, vars_, needle) in enumerate(ROWS):
        msg = failed.get("row%02d" % i)
        if msg is None:
            problems.append("row%02d %s %s: did not fail" % (i, role, vars_))
        elif needle not in msg or "Traceback" in msg or "CapturedExceptionMarker" in msg:
            problems.append("row%02d %s: %r not in %s" % (i, role, needle, msg[:400]))
    assert problems == [], "\n".join(problems)
    assert kube_api.writes() == [], [(w.method, w.path) for w in kube_api.writes()]
    assert len(ROWS) >= 30
