"""access_review's program: which needs a rules review covers, when access reviews are asked, the message."""

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import access
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError

RULES = [{"api_group": "security.istio.io", "resources": ["peerauthentications"], "verbs": ["get", "create"],
          "stage": "mtls", "cluster_role": "aksmesh-istio:mtls"},
         {"api_group": "", "resources": ["namespaces"], "verbs": ["get", "patch"], "stage": "secrets",
          "cluster_role": "aksmesh-istio:secrets"},
         {"api_group": "", "resources": ["namespaces"], "verbs": ["get"], "stage": "injection",
          "cluster_role": "aksmesh-istio:injection"}]


class Reviews:
    """The two review endpoints: a rules review's answer (or an error status), access reviews allowed by a set."""

    def __init__(self, rules=(), incomplete=False, error=None, allowed=()):
        self.rules, self.incomplete, self.error, self.allowed = list(rules), incomplete, error, set(allowed)
        self.asked = []

    def request(self, method, path, query=None, body=None, **kwargs):
        assert method == "POST"
        if path.endswith("selfsubjectrulesreviews"):
            if self.error:
                raise K8sApiError(self.error, "Forbidden", "no")
            return {"status": {"resourceRules": self.rules, "incomplete": self.incomplete}}
        attrs = body["spec"]["resourceAttributes"]
        self.asked.append((attrs["verb"], attrs["group"], attrs["resource"]))
        return {"status": {"allowed": (attrs["verb"], attrs["group"], attrs["resource"]) in self.allowed}}


def test_needs_are_each_asked_once_and_a_check_run_asks_only_reads():
    needs = access.needs(RULES, read_only=False)
    assert [n[:3] for n in needs] == [("get", "security.istio.io", "peerauthentications"),
                                      ("create", "security.istio.io", "peerauthentications"),
                                      ("get", "", "namespaces"), ("patch", "", "namespaces")]
    assert needs[2][3] == [("secrets", "aksmesh-istio:secrets"), ("injection", "aksmesh-istio:injection")]
    assert [n[0] for n in access.needs(RULES, read_only=True)] == ["get", "get"]


def test_a_complete_rules_review_decides_alone():
    rest = Reviews(rules=[{"verbs": ["*"], "apiGroups": [""], "resources": ["*"]},
                          {"verbs": ["get"], "apiGroups": ["security.istio.io"], "resources": ["peerauthentications"]},
                          {"verbs": ["create"], "apiGroups": ["*"], "resources": ["peerauthentications"],
                           "resourceNames": ["default"]}])
    denied, how = access.review(rest, access.needs(RULES, False), "istio-system")
    assert [d[:3] for d in denied] == [("create", "security.istio.io", "peerauthentications")]
    assert how == ["rules review"] and rest.asked == []


def test_an_incomplete_review_asks_the_rest_one_by_one():
    rest = Reviews(rules=[{"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}], incomplete=True,
                   allowed={("create", "security.istio.io", "peerauthentications")})
    denied, how = access.review(rest, access.needs(RULES, False), "istio-system")
    assert sorted(rest.asked) == [("create", "security.istio.io", "peerauthentications"), ("patch", "", "namespaces")]
    assert [d[:3] for d in denied] == [("patch", "", "namespaces")]
    assert how == ["rules review", "2 access reviews"]


def test_a_refused_rules_review_falls_back_to_access_reviews():
    rest = Reviews(error=403, allowed={("get", "", "namespaces")})
    denied, how = access.review(rest, access.needs(RULES, True), "istio-system")
    assert [d[:3] for d in denied] == [("get", "security.istio.io", "peerauthentications")]
    assert how == ["2 access reviews"]


def test_the_message_groups_by_role_and_caps_the_kinds():
    needs = access.needs(RULES, False)
    text = access.describe(needs)
    assert text.startswith("aksmesh-istio:mtls (stage mtls): get/create peerauthentications.security.istio.io; ")
    assert "aksmesh-istio:injection, aksmesh-istio:secrets (stage injection, secrets): get namespaces" in text
    many = [("get", "", "kind%d" % i, [("s", "r")]) for i in range(9)]
    assert access.describe(many).endswith("get kind5, 3 more kinds")
