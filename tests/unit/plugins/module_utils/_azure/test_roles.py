"""Unit tests for _azure.roles: which roles let a principal join a public IP, and granting one (fake SDK)."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import roles
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import AzureOperationError

SCOPE = "/subscriptions/sub/resourceGroups/rg-net"


class Model:
    def __init__(self, body, name=None, role_definition_id=None):
        self.body, self.name, self.role_definition_id = body, name, role_definition_id

    def as_dict(self):
        return self.body


def definition(role_name, actions, not_actions=(), name="guid"):
    return Model({"properties": {"roleName": role_name, "permissions": [
        {"actions": list(actions), "notActions": list(not_actions)}]}}, name=name)


class Forbidden(Exception):
    status_code = 403

    class error:
        code = "AuthorizationFailed"
        message = "no read access"


class FakeAuth:
    def __init__(self, assignments=(), definitions=None, fail=None):
        self.assignments, self.definitions, self.fail = list(assignments), definitions or {}, fail
        self.listed, self.created = [], []
        self.role_assignments, self.role_definitions = self, self

    def list_for_scope(self, scope, filter=None):
        self.listed.append((scope, filter))
        if self.fail:
            raise self.fail
        return iter(self.assignments)

    def get_by_id(self, role_id):
        return self.definitions[role_id]

    def create(self, scope, name, parameters):
        if self.fail:
            raise self.fail
        self.created.append((scope, name, parameters))
        return "assignment"


def test_group_scope():
    assert roles.group_scope("sub", "rg-net") == SCOPE


def test_join_roles_names_the_roles_that_allow_joining():
    auth = FakeAuth([Model(None, role_definition_id="nc"), Model(None, role_definition_id="reader"),
                     Model(None, role_definition_id="custom"), Model(None, role_definition_id="denied")], {
        "nc": definition("Network Contributor", ["Microsoft.Network/*"]),
        "reader": definition("Reader", ["*/read"]),
        "custom": Model({"properties": {"permissions": [{"actions": [
            "Microsoft.Network/publicIPAddresses/join/action"]}]}}, name="custom-guid"),
        "denied": definition("Almost", ["*"], ["Microsoft.Network/publicIPAddresses/*"]),
    })
    assert roles.join_roles(auth, SCOPE, "p-1") == ["Network Contributor", "custom-guid"]
    assert auth.listed == [(SCOPE, "principalId eq 'p-1'")]


def test_sdk_errors_become_operation_errors_with_the_fix():
    with pytest.raises(AzureOperationError) as err:
        roles.join_roles(FakeAuth(fail=Forbidden()), SCOPE, "p-1")
    assert str(err.value).startswith("role assignments of principal p-1 on %s: HTTP 403 AuthorizationFailed" % SCOPE)
    assert err.value.status == 403 and "grant the identity a role" in str(err.value)
    with pytest.raises(AzureOperationError) as err:
        roles.assign(FakeAuth(fail=Forbidden()), SCOPE, "p-1", "4d97b98b", "sub")
    assert str(err.value).startswith("assigning role 4d97b98b to principal p-1 on %s" % SCOPE)


def test_assign_creates_a_service_principal_assignment_of_the_role():
    auth = FakeAuth()
    assert roles.assign(auth, SCOPE, "p-1", "4d97b98b", "sub") == "assignment"
    ((scope, name, params),) = auth.created
    assert scope == SCOPE and len(name) == 36
    assert params.role_definition_id == "/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/4d97b98b"
    assert (params.principal_id, params.principal_type) == ("p-1", "ServicePrincipal")
