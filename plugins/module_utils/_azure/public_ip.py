# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ingress gateway's static public IP: desired shape, comparison with Azure, and the join permission.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

JOIN_ACTION = "Microsoft.Network/publicIPAddresses/join/action"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
# the oldest azure-mgmt-network the module is tested with (requirements/minimum.txt)
NETWORK_SDK_MINIMUM = "17.0.0"

DNS_LABEL = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")


def validate(params):
    """Error messages for the IP parameters, before any call."""
    errors = []
    label = params.get("dns_label")
    if label and not DNS_LABEL.match(label):
        errors.append("dns_label %r must be 3-63 characters of lower-case letters, digits and hyphens, start with "
                      "a letter and end with a letter or digit" % label)
    for zone in params.get("zones") or []:
        if str(zone) not in ("1", "2", "3"):
            errors.append("zones may only hold 1, 2 and 3, not %r" % (zone,))
    if params.get("idle_timeout") is not None and not 4 <= params["idle_timeout"] <= 30:
        errors.append("idle_timeout must be between 4 and 30 minutes")
    return errors


def desired(params, location):
    """The PUT body (REST shape): Standard SKU, Static, IPv4, optional DNS label, zones, tags."""
    body = {"location": location, "sku": {"name": "Standard", "tier": "Regional"},
            "tags": dict(params.get("tags") or {}),
            "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4",
                           "idleTimeoutInMinutes": params.get("idle_timeout") or 4}}
    if params.get("dns_label"):
        body["properties"]["dnsSettings"] = {"domainNameLabel": params["dns_label"]}
    if params.get("zones"):
        body["zones"] = sorted(str(z) for z in params["zones"])
    return body


def current_shape(ip):
    """The same fields as desired(), read from an existing public IP (REST shape)."""
    if ip is None:
        return None
    props = ip.get("properties") or {}
    body = {"location": (ip.get("location") or "").replace(" ", "").lower(),
            "sku": {"name": (ip.get("sku") or {}).get("name"), "tier": (ip.get("sku") or {}).get("tier")},
            "tags": ip.get("tags") or {},
            "properties": {"publicIPAllocationMethod": props.get("publicIPAllocationMethod"),
                           "publicIPAddressVersion": props.get("publicIPAddressVersion"),
                           "idleTimeoutInMinutes": props.get("idleTimeoutInMinutes")}}
    label = (props.get("dnsSettings") or {}).get("domainNameLabel")
    if label:
        body["properties"]["dnsSettings"] = {"domainNameLabel": label}
    if ip.get("zones"):
        body["zones"] = sorted(ip["zones"])
    return body


def differences(want, have, purge_tags=False):
    """Paths that differ, and the fields that cannot change in place (immutable_errors)."""
    if have is None:
        return ["(absent)"], []
    diffs, immutable = [], []
    want = dict(want, location=want["location"].replace(" ", "").lower())
    if want["sku"]["name"] != have["sku"]["name"]:
        immutable.append("sku is %s, wanted %s: the SKU of a public IP cannot change; delete the IP or choose "
                         "another name" % (have["sku"]["name"], want["sku"]["name"]))
    if want.get("zones", []) != have.get("zones", []):
        immutable.append("zones are %s, wanted %s: zones cannot change; delete the IP or choose another name"
                         % (have.get("zones", []), want.get("zones", [])))
    if want["location"] != have["location"]:
        immutable.append("location is %s, wanted %s: an IP cannot move regions" % (have["location"], want["location"]))
    # only the properties asked for: a DNS label set by someone else is kept (see merged_body)
    for key, value in want["properties"].items():
        if have["properties"].get(key) != value:
            diffs.append("properties.%s" % key)
    if merged_tags(want, have, purge_tags) != have["tags"]:
        diffs.append("tags")
    return diffs, immutable


def merged_tags(want, have, purge_tags=False):
    """The tags to set: the existing ones (unless purged) updated with the wanted ones."""
    tags = dict((have or {}).get("tags") or {}) if not purge_tags else {}
    tags.update(want["tags"])
    return tags


def merged_body(want, have, purge_tags=False):
    """The PUT body: desired fields, existing tags kept unless purged, existing DNS label kept."""
    body = {"location": want["location"], "sku": want["sku"], "properties": dict(want["properties"])}
    if want.get("zones"):
        body["zones"] = want["zones"]
    body["tags"] = merged_tags(want, have, purge_tags)
    if have and "dnsSettings" in have["properties"] and "dnsSettings" not in want["properties"]:
        body["properties"]["dnsSettings"] = have["properties"]["dnsSettings"]
    return body


def ip_result(ip):
    """The return value for an existing IP (REST shape)."""
    if ip is None:
        return None
    props = ip.get("properties") or {}
    dns = props.get("dnsSettings") or {}
    return dict(id=ip.get("id"), name=ip.get("name"), ip_address=props.get("ipAddress"),
                resource_group=(ip.get("id") or "/////").split("/")[4], location=ip.get("location"),
                sku=(ip.get("sku") or {}).get("name"), allocation=props.get("publicIPAllocationMethod"),
                version=props.get("publicIPAddressVersion"), fqdn=dns.get("fqdn"),
                dns_label=dns.get("domainNameLabel"), zones=ip.get("zones") or [], tags=ip.get("tags") or {},
                attached_to=(props.get("ipConfiguration") or {}).get("id"),
                provisioning_state=props.get("provisioningState"))


def _matches(pattern, action):
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def grants_join(role_definition):
    """Whether a role definition (REST shape) allows joining a public IP to a load balancer."""
    for perm in (role_definition.get("properties") or {}).get("permissions") or []:
        if any(_matches(p, JOIN_ACTION) for p in perm.get("actions") or []) and \
                not any(_matches(p, JOIN_ACTION) for p in perm.get("notActions") or []):
            return True
    return False
