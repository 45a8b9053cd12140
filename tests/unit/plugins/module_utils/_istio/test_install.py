"""Unit tests for _istio.install: istio_install's argument checks, comparison report, retries and uninstall
(fakes for the module, istioctl and the REST client; the real runs are in tests/integration/modules)."""

import contextlib

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils import _cli as cli
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import install

OPERATOR = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": {}}


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, diff=False, **params):
        self.params = dict({"revision": None, "purge": False, "set": [], "readiness_timeout": "300s",
                            "operator": None}, **params)
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def fail_json(self, **kwargs):
        raise Failed(kwargs)

    def warn(self, msg):
        self.warnings.append(msg)


@pytest.mark.parametrize("operator,needle", [
    ("/nope.yaml", "operator /nope.yaml is not a file; give the IstioOperator as a dictionary or a file path"),
    (["x"], "operator is a list; give the IstioOperator as a dictionary (apiVersion, kind, spec) or a file path"),
    ({"kind": "IstioOperator"}, "operator is not an IstioOperator (it lacks apiVersion, spec): give apiVersion "
                                "install.istio.io/v1alpha1, kind IstioOperator and a spec mapping"),
    (dict(OPERATOR, kind="Deployment"), "(its kind is 'Deployment')"),
    (dict(OPERATOR, spec=[]), "(its spec is not a mapping)"),
])
def test_an_operator_istioctl_cannot_take_fails_before_anything_runs(operator, needle):
    with pytest.raises(Failed) as failed:
        install.check_params(FakeModule(operator=operator))
    assert needle in failed.value.args[0]["msg"]


def test_good_arguments_pass_and_a_bad_timeout_or_revision_fails(tmp_path):
    path = tmp_path / "iop.yaml"
    path.write_text("{}")
    for operator in (None, OPERATOR, str(path)):
        install.check_params(FakeModule(operator=operator, revision="default"))
    with pytest.raises(Failed) as failed:
        install.check_params(FakeModule(readiness_timeout="soon"))
    assert failed.value.args[0]["msg"].endswith("; nothing changed")
    with pytest.raises(Failed):
        install.check_params(FakeModule(revision="1.30"))


def test_flags_are_sets_then_the_revision():
    assert install.flags({"set": ["a=1", "b=2"], "revision": "canary"}) == [
        "--set", "a=1", "--set", "b=2", "--revision", "canary"]
    assert install.flags({"set": [], "revision": None}) == []


def deployment(name, namespace="istio-system", component=None):
    labels = {"operator.istio.io/component": component} if component else {}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace,
                                                                        "labels": labels}, "spec": {"replicas": 1}}


def test_report_counts_lists_and_diffs_what_differs():
    same, changed, new = deployment("a"), deployment("b", component="Pilot"), deployment("c")
    result = {}
    differ = install.report(FakeModule(diff=True), result, [
        (same, same, True), (changed, dict(changed, spec={"replicas": 2}), False), (new, None, False)])
    assert [o["metadata"]["name"] for o, _live in differ] == ["b", "c"]
    assert result["objects"] == {"in_place": 1, "differ": 1, "missing": 1}
    assert [(c["name"], c["action"]) for c in result["manifest_changes"]] == [("b", "configure"), ("c", "create")]
    assert result["components"] == ["Base", "Pilot"]
    assert "replicas" in result["diff"]["prepared"]
    assert "diff" not in install.report(FakeModule(), {}, [(new, None, False)]) and \
        install.report(FakeModule(diff=True), {}, []) == []


def test_a_webhook_is_in_place_when_what_istioctl_sets_matches():
    hook = {"kind": "MutatingWebhookConfiguration", "metadata": {"labels": {"istio.io/rev": "default"}},
            "webhooks": [{"name": "sidecar.istio.io", "clientConfig": {"caBundle": ""}}]}
    assert install.same_webhook(hook, hook)
    assert not install.same_webhook(hook, None)
    assert not install.same_webhook(deployment("a"), deployment("a"))


class FakeRest:
    def __init__(self, deployments):
        self.deployments = deployments
        self.sent = []

    def request(self, method, path, query=None, body=None, content_type="application/json", ok_missing=False):
        self.sent.append((method, path, query))
        return {"items": self.deployments}


@pytest.mark.parametrize("params,selector,command", [
    ({}, "app=istiod", ["istioctl", "uninstall", "-y", "--revision", "default"]),
    ({"revision": "canary"}, "app=istiod,istio.io/rev=canary", ["istioctl", "uninstall", "-y", "--revision", "canary"]),
    ({"revision": "canary", "purge": True}, "app=istiod", ["istioctl", "uninstall", "-y", "--purge"]),
])
def test_absent_uninstalls_what_it_finds(monkeypatch, params, selector, command):
    ran = []
    monkeypatch.setattr(install, "run_or_fail", lambda module, conn, what, cmd, result: ran.append((what, cmd)))
    rest, result = FakeRest([deployment("istiod")]), {}
    assert install.absent(FakeModule(**params), "istioctl", None, rest, result) is True
    assert rest.sent[0][2]["labelSelector"] == selector
    assert result["objects"] == {"control_planes": 1} and ran == [("uninstall", command)]
    ran[:] = []
    assert install.absent(FakeModule(check_mode=True, **params), "istioctl", None, rest, {}) is True and ran == []
    assert install.absent(FakeModule(**params), "istioctl", None, FakeRest([]), result) is False and ran == []
    assert result["objects"] == {"control_planes": 0}


class FakeConnection:
    kubeconfig = None


@pytest.fixture
def tool(monkeypatch):
    """istioctl's answers, one per run; the tool connection adds ``--kubeconfig k``."""
    answers = []

    @contextlib.contextmanager
    def tool_connection(conn):
        yield ["--kubeconfig", "k"], {}

    def run(module, cmd, environ=None):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return 0, answer, ""
    monkeypatch.setattr(install.tool_kubeconfig, "tool_connection", tool_connection)
    monkeypatch.setattr(install.cli, "run", run)
    monkeypatch.setattr(install.time, "sleep", lambda seconds: None)
    return answers


def test_run_or_fail_retries_a_transient_error_and_reports_it(tool):
    tool.extend([cli.CommandError("istioctl", 1, "", "the server is currently unable to handle the request"),
                 "done"])
    module, result = FakeModule(), {}
    install.run_or_fail(module, FakeConnection(), "install", ["istioctl", "install"], result, attempts=3)
    assert result == {"retries": 1, "command": ["istioctl", "install", "--kubeconfig", "k"], "stdout": "done",
                      "stderr": ""}
    assert len(module.warnings) == 1 and module.warnings[0].startswith(
        "istioctl install met a transient API error (attempt 1 of 3), running it again: ")


def test_run_or_fail_fails_on_a_lasting_or_other_error(tool):
    overloaded = cli.CommandError("istioctl", 1, "", "the server is currently unable to handle the request")
    tool.extend([overloaded, overloaded])
    with pytest.raises(Failed) as failed:
        install.run_or_fail(FakeModule(), FakeConnection(), "install", ["istioctl"], {}, attempts=2)
    assert failed.value.args[0]["msg"].startswith("istioctl install failed with exit code 1 after 2 attempts: ")
    assert failed.value.args[0]["retries"] == 1
    tool.append(cli.CommandError("istioctl", 2, "out", "bad flag"))
    with pytest.raises(Failed) as failed:
        install.run_or_fail(FakeModule(), FakeConnection(), "uninstall", ["istioctl"], {})
    assert failed.value.args[0]["msg"] == "istioctl uninstall failed with exit code 2: bad flag"
    assert failed.value.args[0]["stdout"] == "out" and failed.value.args[0]["retries"] == 0


def managed(manager, operation, fields):
    return {"manager": manager, "operation": operation, "fieldsType": "FieldsV1", "fieldsV1": fields}


IPV4 = "service.beta.kubernetes.io/azure-load-balancer-ipv4"


def gateway_service(ip, *entries):
    meta = {"name": "istio-ingressgateway", "namespace": "istio-ingress", "annotations": {IPV4: ip},
            "labels": {"istio": "ingressgateway"}}
    if entries:
        meta["managedFields"] = list(entries)
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {"type": "LoadBalancer"}}


def test_control_plane_drift_names_what_another_manager_holds_only():
    desired = gateway_service("51.124.1.2")
    annotation = {"f:metadata": {"f:annotations": {"f:" + IPV4: {}}}}
    owned = {"f:metadata": {"f:labels": {"f:istio": {}}}, "f:spec": {"f:type": {}}}
    istioctl = managed("istio-operator", "Apply", owned)
    edited = gateway_service("51.124.9.9", istioctl, managed("kubectl-annotate", "Update", annotation))
    (entry,) = install.control_plane_drift([(desired, edited)], "istio-operator", refused=True)
    assert entry == {"apiVersion": "v1", "kind": "Service", "namespace": "istio-ingress",
                     "name": "istio-ingressgateway", "action": "drifted", "path": ".metadata.annotations." + IPV4,
                     "desired": "51.124.1.2", "live": "51.124.9.9", "managers": ["kubectl-annotate (Update)"]}
    assert install.drift_message([entry], "istio-operator") == (
        'Service istio-ingress/istio-ingressgateway: .metadata.annotations.%s: live "51.124.9.9" (set by '
        'kubectl-annotate (Update)), desired "51.124.1.2"' % IPV4)
    taken = install.control_plane_drift([(desired, edited)], "istio-operator", refused=False)
    assert [e["action"] for e in taken] == ["configured"]
    # the inventory changed the IP: istioctl's own field (a pending change), or one nobody holds (new): no drift
    own = gateway_service("51.124.9.9", managed("istio-operator", "Apply", annotation))
    assert install.control_plane_drift([(desired, own)], "istio-operator", refused=True) == []
    assert install.control_plane_drift([(desired, gateway_service("51.124.9.9", istioctl))], "istio-operator",
                                       refused=True) == []
    # an object istioctl never applied (another installer's CRDs) is adopted, not drifted
    other = gateway_service("51.124.9.9", managed("kubectl-annotate", "Update", annotation))
    assert install.control_plane_drift([(desired, other)], "istio-operator", refused=True) == []
    # a missing object, and istiod's webhook configurations, never drift
    webhook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
               "metadata": {"name": "istio-validator-istio-system"}, "webhooks": [{"failurePolicy": "Ignore"}]}
    live_hook = dict(webhook, webhooks=[{"failurePolicy": "Fail"}], metadata=dict(
        webhook["metadata"], managedFields=[managed("pilot-discovery", "Update", {"f:webhooks": {}})]))
    assert install.control_plane_drift([(desired, None), (webhook, live_hook)], "istio-operator", True) == []
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "gateways.networking.istio.io", "labels": {"helm.sh/chart": "base-1.0.0"}}}
    relabelled = dict(crd, metadata=dict(crd["metadata"], labels={"helm.sh/chart": "base-1.31.0"}, managedFields=[
        managed("istio-operator", "Apply", {"f:metadata": {"f:labels": {}}}),
        managed("helm", "Update", {"f:metadata": {"f:labels": {"f:helm.sh/chart": {}}}})]))
    assert install.control_plane_drift([(crd, relabelled)], "istio-operator", True) == []


@pytest.mark.parametrize("values,needle", [
    (["values.global.hub"], "set[0] 'values.global.hub' is not path=value"),
    (["a=1", "=x"], "set[1] '=x' is not path=value"),
    (["--dry-run=true"], "set[0] '--dry-run=true'"),
])
def test_a_set_entry_that_is_not_path_value_fails_before_istioctl_runs(values, needle):
    """set: [values.global.hub] (no '=') installed without the value."""
    with pytest.raises(Failed) as failed:
        install.check_params(FakeModule(set=values))
    assert failed.value.args[0]["msg"].startswith(needle) and failed.value.args[0]["msg"].endswith("; nothing changed")
    install.check_params(FakeModule(set=["values.global.hub=r.example/istio", "meshConfig.accessLogFile="]))
