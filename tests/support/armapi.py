"""A loopback Azure Resource Manager (and Microsoft Entra token endpoint) for the real Azure SDK.

Serves what the collection uses, with ARM's wire shapes: managed clusters
(GET/PUT as a long-running operation, agent pools, user/admin credentials, mesh
upgrade profiles), the region's mesh revision profile, Compute resource SKUs
(paged, with ``MemoryGB``), public IP addresses (PUT/DELETE as long-running
operations, GET), role assignments and role definitions, and resource groups.

Tokens come from the Entra token endpoint (client credentials with a secret, or a federated token as
``client_assertion``: workload identity) or from a managed-identity endpoint: IMDS
(``/metadata/identity/oauth2/token``, which azure-identity reaches through ``AZURE_POD_IDENTITY_AUTHORITY_HOST``)
and the App Service one (``/msi/token``, through ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER``). ``grants``
records who got each token.

Long-running operations answer with ``Azure-AsyncOperation`` and ``Location``
headers and report ``InProgress`` for ``lro_polls`` polls before ``Succeeded``.
Errors use ARM's ``{"error": {"code", "message"}}`` body. State lives in memory.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import threading
import time
import urllib.parse
import uuid

from .loopback import LoopbackServer, Response, TunnelProxy

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"
TENANT = "00000000-0000-0000-0000-0000000000bb"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"

# (name, vCPUs, MemoryGB) — a slice of the real catalogue, enough to size node pools.
VM_SIZES = [
    ("Standard_B2s", 2, 4), ("Standard_B2ms", 2, 8), ("Standard_B4ms", 4, 16), ("Standard_A2_v2", 2, 4),
    ("Standard_D2s_v3", 2, 8), ("Standard_D4s_v3", 4, 16), ("Standard_D2s_v5", 2, 8),
    ("Standard_D4s_v5", 4, 16), ("Standard_D8s_v5", 8, 32), ("Standard_DS2_v2", 2, 7),
    ("Standard_E2s_v5", 2, 16), ("Standard_F2s_v2", 2, 4), ("Standard_F4s_v2", 4, 8),
]
MESH_REVISIONS = [
    {"revision": "asm-1-25", "upgrades": ["asm-1-26"],
     "compatibleWith": [{"name": "kubernetes", "versions": ["1.29", "1.30", "1.31", "1.32"]}]},
    {"revision": "asm-1-26", "upgrades": ["asm-1-27"],
     "compatibleWith": [{"name": "kubernetes", "versions": ["1.30", "1.31", "1.32", "1.33"]}]},
    {"revision": "asm-1-27", "upgrades": ["asm-1-28"],
     "compatibleWith": [{"name": "kubernetes", "versions": ["1.31", "1.32", "1.33", "1.34"]}]},
    {"revision": "asm-1-28", "upgrades": [],
     "compatibleWith": [{"name": "kubernetes", "versions": ["1.32", "1.33", "1.34", "1.35"]}]},
]


PUBLIC_HOSTS = ("management.azure.com", "login.microsoftonline.com")
# Resource Graph's columns of a resource (the Resources table): type and resourceGroup come lower-cased
GRAPH_COLUMNS = ("id", "name", "type", "tenantId", "kind", "location", "resourceGroup", "subscriptionId", "managedBy",
                 "sku", "plan", "properties", "tags", "identity", "zones", "extendedLocation")


def arm_error(status, code, message):
    return Response(status, {"error": {"code": code, "message": message}})


class ArmServer(LoopbackServer):
    """ARM on loopback. Seed it with :meth:`add_cluster`; read ``resources`` to assert."""

    def __init__(self, workdir, lro_polls=2, client_id="app-id", client_secret="app-secret", port=0):
        self.resources = {}  # lower-case id -> resource body
        self.groups = {}  # lower-case rg name -> {"name", "location"}
        self.operations = {}  # op id -> {"remaining", "status", "resource_id", "action"}
        self.kubeconfigs = {}  # cluster id -> (user kubeconfig dict, admin kubeconfig dict)
        self.lro_polls = lro_polls
        self.app = (client_id, client_secret)
        self.federated = {}  # client id -> the service account token (client assertion) its federation trusts
        self.managed_identities = set()  # client ids of the user-assigned identities on this "host"
        self.system_identity = False  # whether a system-assigned identity answers without a client id
        self.identity_header = "loopback-identity-header"  # App Service's IDENTITY_HEADER
        self.grants = []  # (grant, client id) per token issued: client_secret, client_assertion, imds, app_service
        self.tokens = {"loopback-arm-token"}
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        # the public names of Resource Manager and Entra, for the clients whose endpoint is fixed (the Resource Graph
        # client of azure.azcollection's azure_kql inventory): they reach this server through ``tunnel``
        super().__init__(self.route, workdir, name="arm", port=port, hostnames=PUBLIC_HOSTS)
        self.tunnel = None

    def start(self):
        super().start()
        self.tunnel = TunnelProxy(self.port, name="arm-tunnel").start()
        return self

    def stop(self):
        if self.tunnel is not None:
            self.tunnel.stop()
        super().stop()

    # ---- seeding ------------------------------------------------------------------------
    def add_group(self, name, location="westeurope"):
        self.groups[name.lower()] = {"name": name, "location": location}

    def cluster_id(self, rg, name, sub=SUBSCRIPTION):
        return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"

    def add_cluster(self, rg, name, location="westeurope", kubernetes_version="1.32.4", pools=None,
                    kubeconfig=None, admin_kubeconfig=None, mesh=None, identity_type="SystemAssigned",
                    network_plugin="azure", disable_local_accounts=False, provisioning_state="Succeeded",
                    addon_profiles=None, static_egress_gateway=False, tags=None, gateway_api=None):
        self.add_group(rg, location)
        node_rg = f"MC_{rg}_{name}_{location}"
        self.add_group(node_rg, location)
        pools = pools or [{"name": "system", "vmSize": "Standard_D4s_v5", "count": 3, "mode": "System"}]
        profiles = []
        for pool in pools:
            prof = {"name": pool["name"], "count": pool.get("count", 3), "vmSize": pool["vmSize"],
                    "osType": pool.get("osType", "Linux"), "mode": pool.get("mode", "User"),
                    "type": "VirtualMachineScaleSets", "provisioningState": "Succeeded",
                    "orchestratorVersion": kubernetes_version, "osDiskSizeGB": 128}
            if pool.get("minCount") is not None:
                prof.update(enableAutoScaling=True, minCount=pool["minCount"], maxCount=pool["maxCount"])
            profiles.append(prof)
        principal = str(uuid.uuid4())
        cid = self.cluster_id(rg, name)
        identity = {"type": identity_type}
        if identity_type == "SystemAssigned":
            identity.update(principalId=principal, tenantId=TENANT)
        body = {
            "id": cid, "name": name, "type": "Microsoft.ContainerService/ManagedClusters", "location": location,
            "identity": identity,
            "sku": {"name": "Base", "tier": "Standard"},
            "properties": {
                "provisioningState": provisioning_state, "powerState": {"code": "Running"},
                "kubernetesVersion": kubernetes_version, "currentKubernetesVersion": kubernetes_version,
                "dnsPrefix": f"{name}-dns", "fqdn": f"{name}-dns.hcp.{location}.azmk8s.io",
                "agentPoolProfiles": profiles, "nodeResourceGroup": node_rg,
                "networkProfile": {"networkPlugin": network_plugin, "loadBalancerSku": "standard",
                                   "outboundType": "loadBalancer",
                                   "staticEgressGatewayProfile": {"enabled": static_egress_gateway}},
                "identityProfile": {"kubeletidentity": {
                    "resourceId": f"/subscriptions/{SUBSCRIPTION}/resourcegroups/{node_rg}/providers/"
                                  f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool",
                    "clientId": str(uuid.uuid4()), "objectId": str(uuid.uuid4())}},
                "disableLocalAccounts": disable_local_accounts,
                "serviceMeshProfile": mesh or {"mode": "Disabled"},
                "addonProfiles": copy.deepcopy(addon_profiles or {}),
            },
        }
        if tags is not None:
            body["tags"] = dict(tags)
        if gateway_api is not None:  # the managed Gateway API CRDs (az aks update --enable-gateway-api): Standard
            body["properties"]["ingressProfile"] = {"gatewayAPI": {"installation": gateway_api}}
        self.resources[cid.lower()] = body
        self.kubeconfigs[cid.lower()] = (kubeconfig, admin_kubeconfig or kubeconfig)
        return body

    def add_role_assignment(self, scope, principal_id, role_guid=NETWORK_CONTRIBUTOR):
        rid = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        self.resources[rid.lower()] = {
            "id": rid, "name": rid.rsplit("/", 1)[1], "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"roleDefinitionId": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
                                               f"roleDefinitions/{role_guid}",
                           "principalId": principal_id, "principalType": "ServicePrincipal", "scope": scope}}
        return rid

    def public_ips(self):
        return [r for k, r in self.resources.items() if "/microsoft.network/publicipaddresses/" in k]

    def pip_address(self, name, resource_group=None):
        """The address of a public IP by name (and resource group, as the AKS annotations give them): what the
        test cluster's loopback cloud provider puts in a Service's status, as AKS does."""
        for ip in self.public_ips():
            rg = ip["id"].split("/")[4]
            if ip["name"] == name and (resource_group is None or rg.lower() == resource_group.lower()):
                return ip["properties"]["ipAddress"]
        return None

    # ---- routing ------------------------------------------------------------------------------
    def route(self, req):
        path = req.path
        if re.fullmatch(r"/[^/]+/v2\.0/\.well-known/openid-configuration", path):
            return self._openid(path.split("/")[1])
        if re.fullmatch(r"/[^/]+/oauth2/v2\.0/token", path):
            return self._token(req)
        if path == "/metadata/identity/oauth2/token":
            return self._imds_token(req)
        if path == "/msi/token":
            return self._app_service_token(req)
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.")
        if not req.q("api-version"):
            return arm_error(400, "MissingApiVersionParameter", "The api-version query parameter "
                             "(?api-version=) is required for all requests.")
        with self._lock:
            return self._route(req, path)

    def _openid(self, tenant):
        base = f"{self.url}/{tenant}"
        return Response(200, {"token_endpoint": f"{base}/oauth2/v2.0/token",
                              "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                              "issuer": f"{base}/v2.0", "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                              "token_endpoint_auth_methods_supported": ["client_secret_post"],
                              "response_types_supported": ["code", "token"]})

    def _token(self, req):
        form = urllib.parse.parse_qs(req.body.decode())
        client_id = form.get("client_id", [""])[0]
        secret = form.get("client_secret", [""])[0]
        assertion = form.get("client_assertion", [""])[0]
        if assertion:
            kind = form.get("client_assertion_type", [""])[0]
            if kind != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return Response(400, {"error": "invalid_request", "error_description":
                                      f"AADSTS50027: unsupported client_assertion_type {kind!r}."})
            if client_id not in self.federated or self.federated[client_id] != assertion:
                return Response(401, {"error": "invalid_client", "error_description":
                                      "AADSTS700213: No matching federated identity record found for presented "
                                      "assertion.", "error_codes": [700213]})
            return self._issue("client_assertion", client_id, {"token_type": "Bearer", "expires_in": 3599,
                                                               "ext_expires_in": 3599})
        if (client_id, secret) != self.app:
            return Response(401, {"error": "invalid_client", "error_description":
                                  "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215]})
        return self._issue("client_secret", client_id, {"token_type": "Bearer", "expires_in": 3599,
                                                        "ext_expires_in": 3599})

    def _issue(self, grant, client_id, body):
        token = "arm-" + uuid.uuid4().hex
        self.tokens.add(token)
        self.grants.append((grant, client_id))
        return Response(200, dict(body, access_token=token))

    def _identity(self, req):
        """The managed identity a token request asks for (client id, or None for the system-assigned one), or an
        error Response when this host has no such identity."""
        client_id = req.q("client_id")
        if client_id is None and self.system_identity or client_id in self.managed_identities:
            return client_id, None
        return client_id, Response(400, {"error": "invalid_request", "error_description": "Identity not found"})

    def _imds_token(self, req):
        """IMDS as on an Azure VM or AKS node: GET with ``Metadata: true``, ``expires_in`` as a string."""
        if req.headers.get("metadata") != "true" or req.method != "GET":
            return Response(400, {"error": "invalid_request", "error_description": "Required metadata header not "
                                  "specified"})
        client_id, refused = self._identity(req)
        if refused:
            return refused
        return self._issue("imds", client_id, {"token_type": "Bearer", "expires_in": "3599", "resource": req.q(
            "resource"), "expires_on": str(int(time.time()) + 3599), "client_id": client_id or "system"})

    def _app_service_token(self, req):
        """The App Service / Functions identity endpoint: ``X-IDENTITY-HEADER`` secret, ``expires_on`` epoch."""
        if req.headers.get("x-identity-header") != self.identity_header:
            return Response(401, {"statusCode": 401, "message": "Unauthorized: the identity header is wrong"})
        client_id, refused = self._identity(req)
        if refused:
            return refused
        return self._issue("app_service", client_id, {"token_type": "Bearer", "resource": req.q("resource"),
                                                      "expires_on": str(int(time.time()) + 3599),
                                                      "client_id": client_id or "system"})

    def _route(self, req, path):
        low = path.lower()
        if low == "/providers/microsoft.resourcegraph/resources" and req.method == "POST":
            return self._graph(req)
        m = re.fullmatch(r"/subscriptions/([^/]+)/providers/microsoft\.compute/skus", low)
        if m and req.method == "GET":
            return self._skus(req)
        m = re.fullmatch(r"/subscriptions/[^/]+/providers/microsoft\.containerservice/locations/([^/]+)/"
                         r"meshrevisionprofiles(/istio)?", low)
        if m:
            profile = {"id": path if m.group(2) else path + "/istio", "name": "istio",
                       "type": "Microsoft.ContainerService/locations/meshRevisionProfiles",
                       "properties": {"meshRevisions": MESH_REVISIONS}}
            return Response(200, profile if m.group(2) else {"value": [profile]})
        m = re.fullmatch(r"/subscriptions/[^/]+/providers/microsoft\.network/locations/[^/]+/operations/([^/]+)", low)
        if m:
            return self._poll(m.group(1), path, req)
        m = re.fullmatch(r"/subscriptions/[^/]+/resourcegroups/([^/]+)", low)
        if m:
            group = self.groups.get(m.group(1))
            if not group:
                return arm_error(404, "ResourceGroupNotFound", f"Resource group '{m.group(1)}' could not be found.")
            return Response(200, {"id": path, "name": group["name"], "location": group["location"],
                                  "properties": {"provisioningState": "Succeeded"}})
        m = re.fullmatch(r"(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.containerservice/"
                         r"managedclusters/[^/]+)(/.*)?", low)
        if m:
            return self._cluster(req, path, m.group(1), m.group(2) or "")
        m = re.fullmatch(r"/subscriptions/[^/]+/resourcegroups/([^/]+)/providers/microsoft\.network/"
                         r"publicipaddresses/([^/]+)", low)
        if m:
            return self._public_ip(req, path, m.group(1))
        m = re.fullmatch(r"(.*)/providers/microsoft\.authorization/roleassignments", low)
        if m and req.method == "GET":
            return self._role_assignments(req, m.group(1))
        m = re.fullmatch(r"(.*)/providers/microsoft\.authorization/roleassignments/([^/]+)", low)
        if m and req.method == "PUT":
            return self._create_role_assignment(req, path)
        m = re.fullmatch(r".*/providers/microsoft\.authorization/roledefinitions/([^/]+)", low)
        if m and req.method == "GET":
            return self._role_definition(path, m.group(1))
        return arm_error(404, "NotFound", f"No HTTP resource was found that matches the request URI '{path}'.")

    # ---- long-running operations ----------------------------------------------------------
    def _start_lro(self, req, resource_id, location, finish, with_location=False):
        """Register an operation that completes (running ``finish``) after ``lro_polls`` polls."""
        op = uuid.uuid4().hex
        self.operations[op] = {"remaining": self.lro_polls, "resource_id": resource_id, "finish": finish}
        sub = resource_id.split("/")[2]
        url = f"{self.url}/subscriptions/{sub}/providers/Microsoft.Network/locations/{location}/operations/{op}" \
              f"?api-version={req.q('api-version')}"
        headers = {"Azure-AsyncOperation": url, "Retry-After": "0"}
        if with_location:
            headers["Location"] = url
        return headers

    def _poll(self, op, path, req):
        state = self.operations.get(op)
        if state is None:
            return arm_error(404, "OperationNotFound", f"Operation {op} was not found.")
        if state["remaining"] > 0:
            state["remaining"] -= 1
            return Response(200, {"status": "InProgress"}, {"Retry-After": "0"})
        if state.get("done") is None:
            state["done"] = True
            finish = state.get("finish")
            if finish:
                finish()
        return Response(200, {"status": "Succeeded"})

    # ---- Resource Graph ------------------------------------------------------------------
    def _graph(self, req):
        """``POST /providers/Microsoft.ResourceGraph/resources``: the resources this server holds, as rows of the
        Resources table, through the part of KQL a fleet inventory uses - ``Resources``, then ``where`` (``==``,
        ``=~``, ``!=``, ``!~`` of a column or a dotted path and a quoted string, joined by ``and``), ``project``
        (``column``, ``alias = column``, ``alias = tostring(dotted.path)``), ``order by``/``sort by`` and ``limit``/
        ``take``. Any other query is refused with Resource Graph's InvalidQuery error, never answered wrongly."""
        body = req.json() or {}
        subscriptions = [s.lower() for s in body.get("subscriptions") or []]
        # role assignments are in another table (AuthorizationResources)
        table = [self._graph_row(r) for r in self.resources.values()
                 if not r.get("type", "").lower().startswith("microsoft.authorization/")]
        table = [r for r in table if not subscriptions or r["subscriptionId"].lower() in subscriptions]
        try:
            rows = graph_query(body.get("query") or "", table)
        except ValueError as exc:
            return Response(400, {"error": {"code": "BadRequest", "message": "Please provide below info when asking "
                                            "for support: timestamp, correlationId.", "details": [
                                                {"code": "InvalidQuery", "message": "Query is invalid. Please refer to "
                                                 "the documentation for the Azure Resource Graph service and fix "
                                                 f"the error before retrying. {exc}"}]}})
        fmt = (body.get("options") or {}).get("resultFormat", "objectArray")
        data = rows if fmt == "objectArray" else {
            "columns": [{"name": k, "type": "object" if isinstance(v, (dict, list)) else "string"}
                        for k, v in (rows[0] if rows else {}).items()],
            "rows": [list(r.values()) for r in rows]}
        return Response(200, {"totalRecords": len(rows), "count": len(rows), "resultTruncated": "false",
                              "data": data, "facets": []})

    def _graph_row(self, resource):
        parts = resource["id"].split("/")
        row = dict((k, None) for k in GRAPH_COLUMNS)
        row.update({k: copy.deepcopy(v) for k, v in resource.items() if k in GRAPH_COLUMNS})
        row.update(type=resource.get("type", "").lower(), tenantId=TENANT, subscriptionId=parts[2],
                   resourceGroup=parts[4].lower() if len(parts) > 4 else "", tags=resource.get("tags") or {},
                   properties=copy.deepcopy(resource.get("properties") or {}))
        return row

    # ---- compute SKUs -------------------------------------------------------------------
    def _skus(self, req):
        filt = req.q("$filter") or ""
        m = re.search(r"location eq '([^']+)'", filt)
        location = m.group(1) if m else "westeurope"
        skus = [{"resourceType": "virtualMachines", "name": name, "tier": "Standard", "size": name.split("_", 1)[1],
                 "family": "standard" + name.split("_")[1][0] + "Family", "locations": [location],
                 "locationInfo": [{"location": location, "zones": ["1", "2", "3"]}],
                 "capabilities": [{"name": "vCPUs", "value": str(cpu)}, {"name": "MemoryGB", "value": str(mem)},
                                  {"name": "OSVhdSizeMB", "value": "1047552"}],
                 "restrictions": []} for name, cpu, mem in VM_SIZES]
        skus.insert(0, {"resourceType": "disks", "name": "Premium_LRS", "locations": [location], "capabilities": [],
                        "restrictions": []})
        # two pages, as the real API pages this list
        page = int(req.q("page") or 0)
        half = len(skus) // 2
        if page == 0:
            nxt = f"{self.url}{req.path}?api-version={req.q('api-version')}&page=1"
            if filt:
                nxt += "&$filter=" + urllib.parse.quote(filt)
            return Response(200, {"value": skus[:half], "nextLink": nxt})
        return Response(200, {"value": skus[half:]})

    # ---- managed clusters ---------------------------------------------------------------
    def _cluster(self, req, path, cid, rest):
        cluster = self.resources.get(cid)
        name = cid.rsplit("/", 1)[1]
        if cluster is None and not (req.method == "PUT" and not rest):
            return arm_error(404, "ResourceNotFound", f"The Resource 'Microsoft.ContainerService/managedClusters/"
                             f"{name}' under resource group '{cid.split('/')[4]}' was not found.")
        if rest == "" and req.method == "GET":
            return Response(200, cluster)
        if rest == "" and req.method == "PUT":
            return self._put_cluster(req, cid, cluster)
        if rest == "/agentpools" and req.method == "GET":
            return Response(200, {"value": [{"id": f"{cluster['id']}/agentPools/{p['name']}", "name": p["name"],
                                             "type": "Microsoft.ContainerService/managedClusters/agentPools",
                                             "properties": {k: v for k, v in p.items() if k != "name"}}
                                            for p in cluster["properties"]["agentPoolProfiles"]]})
        if rest in ("/listclusterusercredential", "/listclusteradmincredential") and req.method == "POST":
            admin = rest.endswith("admincredential")
            if admin and cluster["properties"].get("disableLocalAccounts"):
                return arm_error(400, "BadRequest", "Getting static credential is not allowed because this cluster "
                                 "is set to disable local accounts.")
            import yaml
            cfg = self.kubeconfigs.get(cid, (None, None))[1 if admin else 0]
            data = base64.b64encode(yaml.safe_dump(cfg or {}).encode()).decode()
            return Response(200, {"kubeconfigs": [{"name": "clusterAdmin" if admin else "clusterUser",
                                                   "value": data}]})
        if rest == "/meshupgradeprofiles" and req.method == "GET":
            inner = self._cluster(req, path + "/istio", cid, "/meshupgradeprofiles/istio")
            return Response(200, {"value": [inner.body]})
        if rest == "/meshupgradeprofiles/istio" and req.method == "GET":
            revs = (cluster["properties"].get("serviceMeshProfile") or {}).get("istio", {}).get("revisions") or []
            current = sorted(revs)[0] if revs else None
            upgrades = next((r["upgrades"] for r in MESH_REVISIONS if r["revision"] == current), [])
            return Response(200, {"id": path, "name": "istio",
                                  "properties": {"revision": current, "upgrades": upgrades,
                                                 "compatibleWith": []}})
        return arm_error(404, "NotFound", f"No route for {req.method} {path}")

    def _put_cluster(self, req, cid, current):
        body = req.json()
        if current is None:
            return arm_error(400, "BadRequest", "Creating managed clusters is not supported by the loopback ARM.")
        if current["properties"].get("provisioningState") not in ("Succeeded", "Failed"):
            return arm_error(409, "OperationNotAllowed", "Operation is not allowed because there's an in "
                             "progress update managed cluster operation on the managed cluster.")
        mesh = (body.get("properties") or {}).get("serviceMeshProfile")
        if mesh and mesh.get("mode") == "Istio":
            revs = (mesh.get("istio") or {}).get("revisions") or []
            known = {r["revision"] for r in MESH_REVISIONS}
            bad = [r for r in revs if r not in known]
            if bad or not revs or len(revs) > 2:
                return arm_error(400, "InvalidParameter", f"Invalid Istio revisions {revs}: specify one or two "
                                 f"of {sorted(known)}.")
            props = current["properties"]
            egress = ((mesh.get("istio") or {}).get("components") or {}).get("egressGateways") or []
            if [g for g in egress if g.get("enabled")] and not (
                    (props.get("networkProfile") or {}).get("staticEgressGatewayProfile") or {}).get("enabled"):
                return arm_error(400, "InvalidParameter", "Istio egress gateways require the static egress "
                                 "gateway feature to be enabled on the cluster.")
            plugin = ((mesh.get("istio") or {}).get("certificateAuthority") or {}).get("plugin")
            secrets_provider = {k.lower(): v for k, v in (props.get("addonProfiles") or {}).items()}.get(
                "azurekeyvaultsecretsprovider") or {}
            if plugin and not secrets_provider.get("enabled"):
                return arm_error(400, "InvalidParameter", "Istio plugin CA requires the Azure Key Vault Secrets "
                                 "Provider add-on to be enabled.")
        updated = copy.deepcopy(current)
        for key, value in (body.get("properties") or {}).items():
            if key not in ("provisioningState", "powerState", "fqdn", "currentKubernetesVersion"):
                updated["properties"][key] = value
        for key in ("tags", "sku", "identity"):
            if key in body:
                updated[key] = body[key]
        current["properties"]["provisioningState"] = "Updating"

        def finish():
            updated["properties"]["provisioningState"] = "Succeeded"
            self.resources[cid] = updated
        headers = self._start_lro(req, current["id"], current["location"], finish)
        out = copy.deepcopy(updated)
        out["properties"]["provisioningState"] = "Updating"
        return Response(200, out, headers)

    # ---- public IPs ------------------------------------------------------------------------
    def _public_ip(self, req, path, rg):
        rid = path.lower()
        current = self.resources.get(rid)
        name = path.rsplit("/", 1)[1]
        if req.method == "GET":
            if current is None:
                return arm_error(404, "ResourceNotFound", f"The Resource 'Microsoft.Network/publicIPAddresses/{name}' "
                                 f"under resource group '{path.split('/')[4]}' was not found.")
            return Response(200, current)
        if rg not in self.groups:
            return arm_error(404, "ResourceGroupNotFound", f"Resource group '{path.split('/')[4]}' could not be found.")
        if req.method == "PUT":
            body = req.json() or {}
            props = body.get("properties") or {}
            sku = (body.get("sku") or {}).get("name", "Basic")
            if current is not None:
                if (current.get("sku") or {}).get("name") != sku:
                    return arm_error(400, "PublicIPSkuCannotBeChanged", "SKU of a public IP address cannot be changed.")
                if current["properties"].get("ipConfiguration") and \
                        props.get("publicIPAllocationMethod", "Static") != "Static":
                    return arm_error(400, "PublicIPAddressInUse", "Public IP address is in use and cannot be changed.")
            if sku == "Standard" and props.get("publicIPAllocationMethod") == "Dynamic":
                return arm_error(400, "StandardSkuPublicIPAddressesCannotUseDynamicAllocation",
                                 "Standard sku publicIp /.../" + name + " must have AllocationMethod set to Static.")
            ip = (current or {}).get("properties", {}).get("ipAddress") or f"51.124.{next(self._seq) % 250}.{10 + next(self._seq) % 200}"
            resource = {"id": path, "name": name, "type": "Microsoft.Network/publicIPAddresses",
                        "location": body.get("location"), "etag": f'W/"{uuid.uuid4()}"',
                        "sku": {"name": sku, "tier": (body.get("sku") or {}).get("tier", "Regional")},
                        "tags": body.get("tags") or {}, "zones": body.get("zones") or [],
                        "properties": {"provisioningState": "Updating",
                                       "resourceGuid": (current or {}).get("properties", {}).get("resourceGuid") or str(uuid.uuid4()),
                                       "ipAddress": ip,
                                       "publicIPAddressVersion": props.get("publicIPAddressVersion", "IPv4"),
                                       "publicIPAllocationMethod": props.get("publicIPAllocationMethod", "Static"),
                                       "idleTimeoutInMinutes": props.get("idleTimeoutInMinutes", 4),
                                       "ipTags": props.get("ipTags") or []}}
            if not resource["zones"]:
                resource.pop("zones")
            label = (props.get("dnsSettings") or {}).get("domainNameLabel")
            if label:
                resource["properties"]["dnsSettings"] = {"domainNameLabel": label,
                                                         "fqdn": f"{label}.{body.get('location')}.cloudapp.azure.com"}
            if current and current["properties"].get("ipConfiguration"):
                resource["properties"]["ipConfiguration"] = current["properties"]["ipConfiguration"]
            self.resources[rid] = resource
            headers = self._start_lro(req, path, body.get("location") or "westeurope",
                                      lambda: resource["properties"].__setitem__("provisioningState", "Succeeded"))
            return Response(200 if current else 201, resource, headers)
        if req.method == "DELETE":
            if current is None:
                return Response(204)
            if current["properties"].get("ipConfiguration"):
                return arm_error(400, "PublicIPAddressCannotBeDeleted", f"Public IP address {path} can not be deleted "
                                 "since it is still allocated to resource "
                                 f"{current['properties']['ipConfiguration']['id']}.")
            headers = self._start_lro(req, path, current.get("location") or "westeurope",
                                      lambda: self.resources.pop(rid, None), with_location=True)
            return Response(202, None, headers)
        return arm_error(405, "MethodNotAllowed", req.method)

    # ---- authorization ------------------------------------------------------------------------
    def _role_assignments(self, req, scope):
        filt = req.q("$filter") or ""
        m = re.search(r"principalId eq '([^']+)'", filt)
        principal = m.group(1) if m else None
        out = []
        for rid, res in self.resources.items():
            if "/microsoft.authorization/roleassignments/" not in rid:
                continue
            a_scope = res["properties"]["scope"].lower()
            # assignments at the scope or above it apply (atScope() filter aside)
            if not (scope.startswith(a_scope) or a_scope.startswith(scope)):
                continue
            if principal and res["properties"]["principalId"] != principal:
                continue
            out.append(res)
        return Response(200, {"value": out})

    def _create_role_assignment(self, req, path):
        body = req.json() or {}
        props = body.get("properties") or {}
        scope = path.split("/providers/Microsoft.Authorization/")[0]
        res = {"id": path, "name": path.rsplit("/", 1)[1], "type": "Microsoft.Authorization/roleAssignments",
               "properties": {"roleDefinitionId": props.get("roleDefinitionId"), "principalId": props.get("principalId"),
                              "principalType": props.get("principalType", "ServicePrincipal"), "scope": scope}}
        self.resources[path.lower()] = res
        return Response(201, res)

    def _role_definition(self, path, guid):
        known = {NETWORK_CONTRIBUTOR: ("Network Contributor", ["Microsoft.Network/*"]),
                 CONTRIBUTOR: ("Contributor", ["*"])}
        name, actions = known.get(guid, ("Reader", ["*/read"]))
        return Response(200, {"id": path, "name": guid, "type": "Microsoft.Authorization/roleDefinitions",
                              "properties": {"roleName": name, "type": "BuiltInRole",
                                             "permissions": [{"actions": actions, "notActions": []}]}})


_WHERE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(==|=~|!=|!~)\s*'([^']*)'\s*$")
_PROJECT = re.compile(r"^\s*(?:([A-Za-z_]\w*)\s*=\s*)?(tostring\(\s*([A-Za-z_][\w.]*)\s*\)|[A-Za-z_][\w.]*)\s*$")


def _path(row, dotted):
    value = row
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            if value is row:
                raise ValueError(f"'{key}' is not a column of the Resources table")
            return None
        value = value[key]
    return value


def graph_query(query, rows):
    """The rows of ``rows`` (the Resources table) that the KQL ``query`` selects, shaped by its ``project``: the
    part of KQL ArmServer._graph documents; ValueError names what it does not take."""
    stages = [part.strip() for part in query.split("|")]
    if not stages or stages[0] != "Resources":
        raise ValueError("the loopback Resource Graph answers queries of the Resources table")
    for stage in stages[1:]:
        word, _sep, rest = stage.partition(" ")
        if word == "where":
            tests = []
            for clause in re.split(r"\s+and\s+", rest):
                m = _WHERE.match(clause)
                if not m:
                    raise ValueError(f"where {clause!r}: column op 'text' expected")
                tests.append(m.groups())

            def keep(row, tests=tuple(tests)):
                for column, op, text in tests:
                    value = "" if _path(row, column) is None else str(_path(row, column))
                    same = value.lower() == text.lower() if "~" in op else value == text
                    if same != (op[0] == "="):
                        return False
                return True
            rows = [r for r in rows if keep(r)]
        elif word == "project":
            shaped = []
            columns = []
            for item in re.split(r",\s*(?![^(]*\))", rest):
                m = _PROJECT.match(item)
                if not m:
                    raise ValueError(f"project {item!r}: column, alias = column or alias = tostring(path) expected")
                alias, expr, inner = m.groups()
                columns.append((alias or expr, inner or expr, bool(inner)))
            for row in rows:
                out = {}
                for alias, path, text in columns:
                    value = _path(row, path)
                    out[alias] = ("" if value is None else value if isinstance(value, str) else json.dumps(value)
                                  if isinstance(value, (dict, list)) else str(value).lower() if isinstance(value, bool)
                                  else str(value)) if text else value
                shaped.append(out)
            rows = shaped
        elif word in ("order", "sort"):
            m = re.match(r"^by\s+([A-Za-z_][\w.]*)(?:\s+(asc|desc))?$", rest.strip())
            if not m:
                raise ValueError(f"{stage!r}: order by column [asc|desc] expected")
            rows = sorted(rows, key=lambda r: str(_path(r, m.group(1)) or ""), reverse=m.group(2) != "asc")
        elif word in ("limit", "take") and rest.strip().isdigit():
            rows = rows[:int(rest)]
        else:
            raise ValueError(f"{stage!r}: the loopback Resource Graph takes where, project, order by and limit")
    return rows
