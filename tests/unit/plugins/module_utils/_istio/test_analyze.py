"""istioctl analyze: its command line, its output and the findings that concern the mesh."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import analyze

PARAMS = {"use_kube": None, "src": [], "namespace": None, "namespaces": [], "mesh_namespaces": False,
          "all_namespaces": None, "istio_namespace": None, "revision": None, "suppress": [], "fail_level": "Error",
          "output_threshold": "Info", "timeout": "30s"}


def params(**over):
    return dict(PARAMS, **over)


@pytest.mark.parametrize("over, scope", [
    ({}, ["-A"]),
    ({"namespace": "shop"}, ["-n", "shop"]),
    ({"namespaces": ["shop", "web"]}, ["-A"]),  # -n takes one namespace: all, then filtered
    ({"mesh_namespaces": True}, ["-A"]),
    ({"mesh_namespaces": True, "all_namespaces": False}, ["-A"]),
    ({"namespace": "shop", "all_namespaces": False}, ["-n", "shop"]),
])
def test_one_run_covers_the_namespaces_asked_for(over, scope):
    cmd = analyze.build_command("istioctl", params(**over))
    assert cmd[:3] == ["istioctl", "analyze", "-o"]
    assert [a for a in cmd if a in ("-A", "-n", "shop")] == scope


def test_the_add_on_is_analyzed_with_its_istio_namespace_and_revision():
    cmd = analyze.build_command("istioctl", params(istio_namespace="aks-istio-system", revision="asm-1-28"),
                                ["--kubeconfig", "/k"])
    assert cmd[-6:] == ["--istioNamespace", "aks-istio-system", "--revision", "asm-1-28", "--kubeconfig", "/k"]


@pytest.mark.parametrize("origin, namespace", [
    ("VirtualService shop/reviews", "shop"),
    ("Namespace shop", "shop"),
    ("MutatingWebhookConfiguration istio-sidecar-injector", None),
    ("", None),
])
def test_the_namespace_of_a_finding(origin, namespace):
    assert analyze.origin_namespace({"origin": origin}) == namespace


def test_the_mesh_is_what_the_collection_created_or_enrolled():
    listed = [
        {"metadata": {"name": "istio-system", "labels": {"app.kubernetes.io/managed-by": "aksmesh"}}},
        {"metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}}},
        {"metadata": {"name": "orders", "labels": {"istio.io/rev": "asm-1-28"}}},
        {"metadata": {"name": "legacy", "labels": {"team": "a"}}},
        {"metadata": {"name": "kube-system"}},
        {"metadata": {"name": "other", "labels": {"app.kubernetes.io/managed-by": "helm"}}},
    ]
    assert analyze.mesh_namespaces(listed) == {"istio-system", "shop", "orders"}


def test_only_the_findings_in_the_mesh_and_on_cluster_objects_count():
    messages = [{"origin": "VirtualService shop/a", "level": "Error"},
                {"origin": "VirtualService legacy/b", "level": "Error"},
                {"origin": "MutatingWebhookConfiguration x", "level": "Warning"}]
    kept = analyze.concerning(messages, {"shop"})
    assert [m["origin"] for m in kept] == ["VirtualService shop/a", "MutatingWebhookConfiguration x"]
    assert analyze.concerning(messages, None) == messages
    reported, failing, counts = analyze.findings(kept, params(fail_level="Error", output_threshold="Warning"))
    assert len(reported) == 2 and [m["origin"] for m in failing] == ["VirtualService shop/a"]
    assert counts == {"Error": 1, "Warning": 1, "Info": 0}
    assert "VirtualService shop/a" in analyze.failure_message(failing, "Error")


def test_a_route_to_a_host_not_deployed_yet_can_be_reported_without_failing():
    messages = [{"code": "IST0101", "level": "Error", "message": "Referenced host not found: \"reviews\""},
                {"code": "IST0101", "level": "Error", "message": "Referenced gateway not found: \"gw\""},
                {"code": "IST0109", "level": "Error", "message": "define the same host"}]
    _reported, failing, _counts = analyze.findings(messages, params())
    assert len(failing) == 3
    reported, failing, counts = analyze.findings(messages, params(absent_hosts="report"))
    assert [m["message"][:20] for m in failing] == ["Referenced gateway n", "define the same host"]
    assert len(reported) == 3 and counts["Error"] == 3


def test_log_lines_before_the_json_are_read_and_files_it_skipped_named():
    out = ("2026-12-06T10:00:00.000000Z\twarn\tfile error processing /x/broken.yaml: bad - skipping\n"
           '[{"code": "IST0101", "level": "Error", "origin": "VirtualService shop/a"}]')
    messages, unparsed = analyze.parse(out)
    assert messages[0]["code"] == "IST0101" and unparsed == ["/x/broken.yaml: bad - skipping"]
    assert analyze.parse("") == ([], [])
    with pytest.raises(analyze.OutputError):
        analyze.parse("not json")
