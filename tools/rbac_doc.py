"""Write docs/rbac.md, what each stage needs of the cluster, from plugins/plugin_utils/_permissions.py: `make docs`.

tests/unit/plugins/plugin_utils/test_permissions.py fails when the file differs from what this prints.
"""

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "rbac.md"

HEAD = """# The Kubernetes permissions of a run

<!-- Generated from plugins/plugin_utils/_permissions.py by `make docs`: do not edit. -->

A run needs, on each cluster, the permissions of the stages that run for it, and no more. Each stage has a
ClusterRole, `aksmesh-istio:<stage>` (`aksmesh-istio:<stage>:<method>` where the install method changes what the
stage needs), and verify.yml has a read-only one, `aksmesh-istio:verify`. `rbac.yml` writes them for each host of an
inventory, bound to the subjects you name, for a cluster administrator to apply:

```sh
ansible-playbook -i inventory aksmesh.istio.rbac \\
  -e '{"aksmesh_rbac_subjects": [{"kind": "Group", "name": "<the AWX identity's Entra group object ID>"}],
       "aksmesh_rbac_verify_subjects": [{"kind": "Group", "name": "<the drift job's group>"}]}'
kubectl apply --server-side -f rbac/<host>.yaml
```

**Checked before the first change.** Right after the credentials, the access stage (`aksmesh.istio.cluster_access`,
`aksmesh_access_check`) asks the API server whether the run's identity holds every permission below of the stages
that run for the host and that the run's `--tags` select (a check run: their read permissions only; one
`SelfSubjectRulesReview`; a `SelfSubjectAccessReview` for each permission the rules do
not show, as with a webhook authorizer such as Azure RBAC for Kubernetes). A missing one fails the run before any
stage changes Azure or the cluster, naming the permission, the stage and the role:

```text
the identity of this run may not create peerauthentications.security.istio.io (stage mtls; ClusterRole
aksmesh-istio:mtls). Nothing was changed. Fix: bind the ClusterRole aksmesh-istio:mtls to it ...
```

`tests/integration/test_rbac.py` runs site.yml with exactly these roles (the istioctl method, the addons on), one
without a stage's role (it fails in the access stage and writes nothing), and verify.yml with the verify role.

**What the roles leave open.**
- **Installing software installs its RBAC.** The control plane (istioctl or Helm), cert-manager and the addons create
  ClusterRoles and ClusterRoleBindings for istiod, the gateways, cert-manager, Prometheus and Kiali. Kubernetes lets
  an identity create a role only with the permissions it holds, or with `escalate`, and bind one only with `bind`:
  those three roles carry both, so whoever holds them may grant any permission, as whoever installs Istio may. Bind
  them to the pipeline's identity only, never to people; the other stages' roles grant only the kinds they write.
- **Secrets.** The secrets stage writes the Grafana and Kiali Secrets; the control plane and Helm (its release
  records) write Secrets in their namespaces; `istioctl analyze` and the verify role read Secrets cluster-wide (the
  analyzers check the gateways' TLS Secrets). `aksmesh_analyze: false` and the certs stage off leave the read out of
  the need, not out of the verify role.
- **CRDs are cluster-wide.** The control plane, cert-manager and the gateway-api stage write
  CustomResourceDefinitions, and RBAC cannot narrow `create` to some of them: whoever holds those roles may define
  any CRD, and delete one (with every object of its kind). The gateway-api stage deletes only the CRDs it labelled,
  and only when cleanup is asked to (`aksmesh_cleanup_gateway_api`).
- **Cluster-wide bindings.** The roles are bound with ClusterRoleBindings: the stages write in namespaces the
  inventory names. The access check accepts a rule a RoleBinding grants in the Istio namespace; a write elsewhere then
  fails with the API server's 403.
- **verify.yml without dry runs.** Kubernetes authorizes a server-side dry run as the write it simulates, so the
  verify role cannot dry-run: a check run whose identity may not compares each object from its `managedFields` alone
  (and says so in a warning), which misses what only the API server's defaults and admission would change.
- **cleanup.yml** needs the same roles (their `delete`); upgrade.yml the control plane's. Neither runs the access
  stage yet.

## Per stage

| stage | ClusterRole | API group | resources | verbs |
|---|---|---|---|---|
"""


def table():
    sys.path.insert(0, str(REPO / ".build" / "collections"))
    from ansible_collections.aksmesh.istio.plugins.plugin_utils import _permissions as perms
    from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages

    rows = []
    for stage in stages.STAGES:
        for method, rule_list in sorted(perms.RULES.get(stage.name, {}).items(), key=lambda kv: kv[0] or ""):
            for rule in rule_list:
                rows.append("| `%s` | `%s` | `%s` | %s | %s |" % (
                    stage.name, perms.role_name(stage.name, method), rule.group or '""',
                    ", ".join(rule.resources), ", ".join(rule.verbs)))
    verify = perms.cluster_roles("istioctl")[-1]
    for rule in verify["rules"]:
        rows.append("| verify.yml | `%s` | `%s` | %s | %s |" % (
            perms.VERIFY_ROLE, rule["apiGroups"][0] or '""', ", ".join(rule["resources"]), ", ".join(rule["verbs"])))
    return HEAD + "\n".join(rows) + "\n"


if __name__ == "__main__":
    OUT.write_text(table())
    print("wrote %s" % OUT.relative_to(REPO))
