# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gateway TLS certificates with cert-manager: Issuers/ClusterIssuers, one Certificate per Gateway TLS Secret.

This file is private to the aksmesh.istio collection: its contents may change at any time.

- Issuers: ACME with HTTP-01 through the Istio ingress gateway (cert-manager's Ingress solver with the ``istio``
  ingress class), ACME with DNS-01 on Azure DNS with workload identity, or a CA issuer (private PKI) from a
  Secret the user provides.
- Certificates: one per TLS Secret a Gateway server names (``tls.credentialName``), in the namespace of the
  gateway workload the Gateway selects (where Istio reads it), with ``secretName`` that name and ``dnsNames``
  the hosts of every server naming it.
- Pre-flight: a server with ``tls.mode`` SIMPLE, MUTUAL or OPTIONAL_MUTUAL whose Secret neither a Certificate of
  this run makes nor the user declares as existing is an error, before anything is applied.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import (
    MeshConfigError, name_of, obj, require, unique_names)
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders.gateways import gateway_servers, place_gateways

API = "cert-manager.io/v1"
GROUP = "cert-manager.io"
KINDS = ("ClusterIssuer", "Issuer")
TYPES = ("acme_http01", "acme_azure_dns", "ca")
SECRET_MODES = ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL")
LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
AZURE_ENVIRONMENTS = ("AzurePublicCloud", "AzureChinaCloud", "AzureGermanCloud", "AzureUSGovernmentCloud")
# what each issuer type needs besides its name
TYPE_KEYS = {"acme_http01": ["email"],
             "acme_azure_dns": ["email", "client_id", "subscription_id", "resource_group", "hosted_zone"],
             "ca": ["ca_secret"]}


def issuer_spec(issuer, where):
    kind = issuer["type"]
    if kind == "ca":
        name_of("issuers", where, "Secret", issuer["ca_secret"], group="")
        return {"ca": {"secretName": issuer["ca_secret"]}}
    acme = {"server": issuer.get("server") or LETSENCRYPT, "email": issuer["email"],
            "privateKeySecretRef": {"name": name_of("issuers", where, "Secret",
                                                    issuer.get("account_key_secret") or issuer["name"] + "-account-key",
                                                    group="")}}
    if kind == "acme_http01":
        solver = {"http01": {"ingress": {"class": issuer.get("ingress_class") or "istio"}}}
    else:
        environment = issuer.get("environment") or "AzurePublicCloud"
        if environment not in AZURE_ENVIRONMENTS:
            raise MeshConfigError("issuers", "%s: environment %r: use one of %s" % (
                where, environment, ", ".join(AZURE_ENVIRONMENTS)))
        solver = {"dns01": {"azureDNS": {
            "subscriptionID": issuer["subscription_id"], "resourceGroupName": issuer["resource_group"],
            "hostedZoneName": issuer["hosted_zone"], "environment": environment,
            # workload identity: the cert-manager controller's federated credential for this managed identity
            "managedIdentity": {"clientID": issuer["client_id"]}}}}
    acme["solvers"] = [solver]
    return {"acme": acme}


def check_issuers(issuers):
    """{name: entry} of the issuers, each checked."""
    unique_names("issuers", issuers or [])
    out = {}
    for index, issuer in enumerate(issuers or []):
        require(issuer, ["name", "type"], "issuers", "entry %d" % index)
        where = "issuer %s" % issuer["name"]
        name_of("issuers", where, "ClusterIssuer", issuer["name"], group=GROUP)
        if issuer["type"] not in TYPES:
            raise MeshConfigError("issuers", "%s: type %r: use acme_http01 (Let's Encrypt through the Istio ingress "
                                             "gateway), acme_azure_dns (DNS-01 on Azure DNS with workload identity) "
                                             "or ca (a CA key pair in a Secret)" % (where, issuer["type"]))
        kind = issuer.get("kind") or "ClusterIssuer"
        if kind not in KINDS:
            raise MeshConfigError("issuers", "%s: kind %r: use ClusterIssuer or Issuer" % (where, kind))
        require(issuer, TYPE_KEYS[issuer["type"]], "issuers", "%s (type %s)" % (where, issuer["type"]))
        if issuer.get("namespace") and kind == "ClusterIssuer":
            raise MeshConfigError("issuers", "%s: a ClusterIssuer has no namespace; drop namespace or set kind: "
                                             "Issuer" % where)
        if issuer.get("namespace"):
            name_of("issuers", where, "Namespace", issuer["namespace"])
        out[issuer["name"]] = dict(issuer, kind=kind)
    return out


def plain_host(host, where):
    """A Gateway server host without Istio's ``<namespace>/`` prefix; refuses hosts no certificate can name."""
    name = host.split("/", 1)[1] if "/" in host else host
    if name == "*" or not name:
        raise MeshConfigError("gateways", "%s: host %r matches every host: a certificate names hosts; list them "
                                          "(or a wildcard such as *.example.com)" % (where, host))
    return name


def tls_secrets(gateways, workloads, ingress_selector):
    """[(namespace, credentialName, [hosts], [gateway names], mode)] of the TLS servers of the Gateways."""
    _objects, placed = place_gateways(gateways, workloads, ingress_selector)
    found = {}
    for gw in gateways or []:
        ns = placed[gw["name"]]
        for server in gateway_servers(gw):
            tls = server.get("tls") or {}
            mode, secret = tls.get("mode"), tls.get("credentialName")
            if mode not in SECRET_MODES or not secret:
                continue
            where = "gateway %s" % gw["name"]
            name_of("gateways", where, "Secret", secret, group="")
            entry = found.setdefault((ns, secret), {"hosts": [], "gateways": [], "modes": []})
            for host in server.get("hosts") or []:
                host = plain_host(host, where)
                if host not in entry["hosts"]:
                    entry["hosts"].append(host)
            if gw["name"] not in entry["gateways"]:
                entry["gateways"].append(gw["name"])
            entry["modes"].append(mode)
    return [(ns, secret, e["hosts"], e["gateways"], e["modes"]) for (ns, secret), e in sorted(found.items())]


def declared(existing_secrets):
    """{(namespace or None, name)} of the Secrets the user provides (``name`` or ``namespace/name``)."""
    out = set()
    for item in existing_secrets or []:
        parts = item.split("/")
        if len(parts) > 2 or not all(parts):
            raise MeshConfigError("existing_secrets", "%r: give a Secret name or <namespace>/<name>" % item)
        if len(parts) == 2:
            name_of("existing_secrets", repr(item), "Namespace", parts[0])
        name_of("existing_secrets", repr(item), "Secret", parts[-1], group="")
        out.add((parts[0], parts[1]) if len(parts) == 2 else (None, parts[0]))
    return out


def certs_manifests(issuers, issuer, gateways, workloads, ingress_selector, existing_secrets, certificate_spec):
    """The Issuers and ClusterIssuers, then one Certificate per Gateway TLS Secret that the user does not provide."""
    known = check_issuers(issuers)
    provided = declared(existing_secrets)
    if issuer and issuer not in known:
        raise MeshConfigError("issuer", "%r is not in O(issuers) (%s): add it there, or name one of them" % (
            issuer, ", ".join(sorted(known)) or "empty"))
    certificates, missing, needs = [], [], {}
    for ns, secret, hosts, gw_names, _modes in tls_secrets(gateways, workloads, ingress_selector):
        if (ns, secret) in provided or (None, secret) in provided:
            continue
        if not issuer:
            missing.append("%s/%s (gateway %s)" % (ns, secret, ", ".join(gw_names)))
            continue
        chosen = known[issuer]
        if chosen["type"] == "acme_http01":
            wild = [h for h in hosts if h.startswith("*")]
            if wild:
                raise MeshConfigError("issuer", "%s: the HTTP-01 issuer %s cannot prove wildcard hosts (%s) for Secret "
                                                "%s/%s: use an acme_azure_dns issuer for it" % (
                                                    "gateway " + ", ".join(gw_names), issuer, ", ".join(wild), ns,
                                                    secret))
        if chosen["kind"] == "Issuer":
            if chosen.get("namespace") and chosen["namespace"] != ns:
                raise MeshConfigError("issuer", "%s is an Issuer in %s, but the Certificate for %s/%s lives in the "
                                                "gateway namespace %s: an Issuer serves its own namespace only; drop "
                                                "its namespace (one Issuer per gateway namespace) or make it a "
                                                "ClusterIssuer" % (issuer, chosen["namespace"], ns, secret, ns))
            needs.setdefault(issuer, set()).add(ns)
        spec = dict(certificate_spec or {})
        spec.update({"secretName": secret, "dnsNames": hosts,
                     "issuerRef": {"name": issuer, "kind": chosen["kind"], "group": GROUP}})
        certificates.append(obj(API, "Certificate", secret, ns, spec))
    if missing:
        raise MeshConfigError("existing_secrets", "no Certificate of this run makes the Gateway TLS Secret(s) %s and "
                                                  "the list does not name them, so the gateway would serve no "
                                                  "certificate: set O(issuer) to have cert-manager issue them, or "
                                                  "create the Secrets and list them here" % ", ".join(missing))
    objects = []
    for name in sorted(known):
        entry = known[name]
        spec = issuer_spec(entry, "issuer %s" % name)
        if entry["kind"] == "ClusterIssuer":
            objects.append(obj(API, "ClusterIssuer", name, None, spec))
            continue
        namespaces = [entry["namespace"]] if entry.get("namespace") else sorted(needs.get(name, ()))
        if not namespaces:
            raise MeshConfigError("issuers", "issuer %s: an Issuer lives in one namespace and no Certificate of this "
                                             "run uses it: give its namespace, or name it in O(issuer)" % name)
        objects.extend(obj(API, "Issuer", name, ns, spec) for ns in namespaces)
    return objects + certificates
