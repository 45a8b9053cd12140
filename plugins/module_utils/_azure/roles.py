# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does a principal hold a role allowing an action on a scope? And granting one (opt-in).

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import uuid

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import models
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import describe, rest
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.public_ip import grants_join


def group_scope(subscription_id, resource_group):
    return "/subscriptions/%s/resourceGroups/%s" % (subscription_id, resource_group)


def join_roles(auth_client, scope, principal_id):
    """Names of the roles ``principal_id`` holds at/above ``scope`` that allow joining a public IP."""
    label = "role assignments of principal %s on %s" % (principal_id, scope)
    try:
        assignments = list(auth_client.role_assignments.list_for_scope(
            scope, filter="principalId eq '%s'" % principal_id))
        granting = []
        for assignment in assignments:
            definition = auth_client.role_definitions.get_by_id(assignment.role_definition_id)
            body = rest(definition)
            if grants_join(body):
                granting.append((body.get("properties") or {}).get("roleName") or definition.name)
        return granting
    except Exception as exc:
        raise describe(exc, label)


def assign(auth_client, scope, principal_id, role_guid, subscription_id):
    """Create a role assignment (principal type ServicePrincipal, as managed identities are)."""
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
    definition = "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (
        subscription_id, role_guid)
    parameters = models.build(RoleAssignmentCreateParameters, {"properties": {
        "roleDefinitionId": definition, "principalId": principal_id, "principalType": "ServicePrincipal"}})
    try:
        return auth_client.role_assignments.create(scope, str(uuid.uuid4()), parameters)
    except Exception as exc:
        raise describe(exc, "assigning role %s to principal %s on %s" % (role_guid, principal_id, scope))
