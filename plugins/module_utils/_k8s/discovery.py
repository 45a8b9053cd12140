# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""apiVersion + kind -> REST resource, through discovery fetched lazily, once per group version.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError


class Resource(object):
    __slots__ = ("group", "version", "kind", "plural", "namespaced")

    def __init__(self, group, version, kind, plural, namespaced):
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    def base(self):
        return "/apis/%s/%s" % (self.group, self.version) if self.group else "/api/%s" % self.version

    def collection_path(self, namespace=None):
        """The collection's URL; names are checked and quoted (InvalidName when the API server would refuse them)."""
        if self.namespaced and namespace:
            return "%s/namespaces/%s/%s" % (self.base(), names.segment("Namespace", namespace), self.plural)
        return "%s/%s" % (self.base(), self.plural)

    def path(self, name, namespace=None):
        return "%s/%s" % (self.collection_path(namespace), names.segment(self.kind, name, group=self.group))

    def __repr__(self):
        return "Resource(%s, %s)" % (self.api_version, self.kind)


class UnknownKind(Exception):
    """The API server does not serve this apiVersion/kind."""


class DiscoveryFailed(K8sApiError):
    """The API server could not say whether it serves a group version (an aggregated API that answers 503, a
    403, ...): neither served nor not served, so no decision may rest on it."""

    def __str__(self):
        return self.message


class Discovery(object):
    """Caches one resource list per group version for the life of one module call."""

    def __init__(self, rest):
        self.rest = rest
        self._lists = {}

    def _resources(self, api_version, refresh=False):
        if refresh or api_version not in self._lists:
            group, _sep, version = api_version.rpartition("/")
            path = "/apis/%s/%s" % (group, version) if group else "/api/%s" % version
            try:
                doc = self.rest.request("GET", path, ok_missing=True)
            except K8sApiError as exc:
                # an aggregated API that is down (503) is not a kind that is not served: a delete would report the
                # object gone and leave it, an apply would ask for a CRD that is there
                raise DiscoveryFailed(exc.status, exc.reason, "discovery of %s failed (%s %s: %s): the API server "
                                      "cannot tell whether it serves %s; fix the API service behind it (kubectl get "
                                      "apiservices) and run again" % (api_version, exc.status, exc.reason,
                                                                      exc.message, api_version),
                                      exc.causes, exc.body, exc.host)
            table = {}
            for res in (doc or {}).get("resources", []):
                if "/" in res["name"]:
                    continue  # subresource
                table[res["kind"]] = Resource(group, version, res["kind"], res["name"], res["namespaced"])
            self._lists[api_version] = table
        return self._lists[api_version]

    def resolve(self, api_version, kind, refresh=False):
        res = self._resources(api_version, refresh).get(kind)
        if res is None and not refresh:
            res = self._resources(api_version, True).get(kind)
        if res is None:
            raise UnknownKind("the API server does not serve %s %s: install its CustomResourceDefinition first "
                              "(or check apiVersion and kind)" % (api_version, kind))
        return res

    def forget(self, api_version):
        self._lists.pop(api_version, None)
