"""A small synchronous kubectl over HTTP, against the emulator or a real cluster (``KUBECONFIG``):
the sandbox applies CRDs and samples with it, tests drive and inspect clusters with it."""
from __future__ import annotations

import base64
import asyncio
import dataclasses
import json
import os
import pathlib
import pprint
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

import yaml

from .errors import ApiError

Obj = dict[str, Any]
T = TypeVar("T")

CRD_API_VERSION = "apiextensions.k8s.io/v1"


@dataclasses.dataclass(frozen=True)
class ClusterAccess:
    """Where a cluster is and how to authenticate, as a kubeconfig context says. ``*_data`` fields
    hold the kubeconfig's base64 text, ``*_path`` fields file paths."""

    server: str
    ca_path: str | None = None
    ca_data: str | None = None
    insecure: bool = False
    token: str | None = None
    certificate_path: str | None = None
    certificate_data: str | None = None
    private_key_path: str | None = None
    private_key_data: str | None = None
    username: str | None = None
    password: str | None = None
    default_namespace: str | None = None

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str], context: str | None = None) -> ClusterAccess:
        """Parse one kubeconfig file (token, client certificate or basic auth; CA or insecure)."""
        path = pathlib.Path(path).expanduser()
        config = yaml.safe_load(path.read_text()) or {}

        def named(section: str, name: str) -> Obj:
            for item in config.get(section) or []:
                if item.get("name") == name:
                    return item.get(section[:-1]) or {}
            raise ValueError(f"{path}: no {section[:-1]} named {name!r}")

        def relative(file: str | None) -> str | None:
            return str(path.parent / file) if file else None

        context_name = context or config.get("current-context")
        if not context_name:
            raise ValueError(f"{path}: no current-context")
        ctx = named("contexts", context_name)
        cluster, user = named("clusters", ctx["cluster"]), named("users", ctx["user"])
        token = user.get("token")
        if not token and user.get("tokenFile"):
            token = pathlib.Path(relative(user["tokenFile"]) or "").read_text().strip()
        return cls(
            server=cluster["server"].rstrip("/"),
            ca_path=relative(cluster.get("certificate-authority")),
            ca_data=cluster.get("certificate-authority-data"),
            insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
            token=token,
            certificate_path=relative(user.get("client-certificate")),
            certificate_data=user.get("client-certificate-data"),
            private_key_path=relative(user.get("client-key")),
            private_key_data=user.get("client-key-data"),
            username=user.get("username"),
            password=user.get("password"),
            default_namespace=ctx.get("namespace"),
        )

    def write_kubeconfig(self, path: str | os.PathLike[str], name: str = "harness") -> pathlib.Path:
        """Write a kubeconfig for this access (for kubectl, or an operator run as a subprocess, which
        then logs in with kopf's own kubeconfig login); ``name`` names its cluster, user and context.
        Paths are written absolute."""
        cluster = {"server": self.server, "certificate-authority": self.ca_path,
                   "certificate-authority-data": self.ca_data, "insecure-skip-tls-verify": self.insecure or None}
        user = {"token": self.token, "client-certificate": self.certificate_path,
                "client-certificate-data": self.certificate_data, "client-key": self.private_key_path,
                "client-key-data": self.private_key_data, "username": self.username, "password": self.password}
        context = {"cluster": name, "user": name, "namespace": self.default_namespace}
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": _present(cluster)}],
            "users": [{"name": name, "user": _present(user)}],
            "contexts": [{"name": name, "context": _present(context)}],
        }
        path = pathlib.Path(path)
        path.write_text(yaml.safe_dump(config))
        return path

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.server.startswith("https:"):
            return None
        context = ssl.create_default_context(
            cafile=self.ca_path, cadata=base64.b64decode(self.ca_data).decode() if self.ca_data else None)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.certificate_path or self.certificate_data:
            with tempfile.TemporaryDirectory() as scratch:  # ssl reads the client key pair from files only
                certificate = self.certificate_path or _decoded_file(scratch, "client.crt", self.certificate_data)
                key = self.private_key_path or _decoded_file(scratch, "client.key", self.private_key_data)
                context.load_cert_chain(certificate, key)
        return context

    def headers(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.username is not None:
            basic = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        return {}


def _present(fields: Obj) -> Obj:
    return {key: value for key, value in fields.items() if value is not None}


def _decoded_file(directory: str, name: str, data: str | None) -> str:
    file = pathlib.Path(directory) / name
    file.write_bytes(base64.b64decode(data or ""))
    return str(file)


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class KubeClient:
    """kubectl-like calls over HTTP. Objects are plain dicts; errors raise :class:`ApiError`."""

    # What `for_server` and `from_kubeconfig` build (a subclass may add to ClusterAccess).
    access_type: type[ClusterAccess] = ClusterAccess

    def __init__(self, access: ClusterAccess, timeout: float = 10.0, emulator: Any = None) -> None:
        self.access = access
        self.emulator = emulator  # the EmulatorServer behind `access`, None for a real cluster
        self.timeout = timeout
        self._ssl = access.ssl_context()
        self._plurals: dict[tuple[str, str], tuple[str, bool]] = {}

    @classmethod
    def for_server(cls, server: str, emulator: Any = None) -> KubeClient:
        """A client for an unauthenticated plain-HTTP server (the emulator)."""
        return cls(cls.access_type(server=server.rstrip("/")), emulator=emulator)

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str], context: str | None = None) -> KubeClient:
        return cls(cls.access_type.from_kubeconfig(path, context))

    # --- HTTP ----------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
                query: dict[str, str] | None = None) -> Any:
        with self._open(method, path, body, content_type, query) as response:
            return json.loads(response.read() or b"null")

    def _open(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
              query: dict[str, str] | None = None, timeout: float | None = None) -> Any:
        url = self.access.server + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", **self.access.headers()}
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout, context=self._ssl)
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                status = json.loads(payload)
            except ValueError:
                status = {"reason": error.reason, "message": payload.decode(errors="replace")}
            raise ApiError(error.code, status.get("reason", ""), status.get("message", ""),
                           status.get("details")) from None

    def resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) of a Kind or plural name, from the server's discovery."""
        group, version = split_api_version(api_version)
        key = (api_version, kind)
        if key not in self._plurals:
            listing = self.request("GET", f"/apis/{group}/{version}" if group else f"/api/{version}")
            for resource in listing.get("resources", []):
                if "/" not in resource["name"] and kind in (resource["name"], resource["kind"]):
                    self._plurals[key] = (resource["name"], resource["namespaced"])
                    break
            else:
                raise ApiError(404, "NotFound", f"the server doesn't have a resource type {kind!r} in {api_version}")
        return self._plurals[key]

    def path(self, api_version: str, kind: str, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        group, version = split_api_version(api_version)
        plural, namespaced = self.resource(api_version, kind)
        parts = [f"/apis/{group}/{version}" if group else f"/api/{version}"]
        if namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(plural)
        parts.extend(part for part in (name, subresource) if part)
        return "/".join(parts)

    # --- kubectl verbs -------------------------------------------------------------------------

    def create(self, obj: Obj) -> Obj:
        meta = obj.get("metadata", {})
        return self.request("POST", self.path(obj["apiVersion"], obj["kind"], meta.get("namespace")), obj)

    def replace(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return self.request("PUT", self.path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"]),
                            obj)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj:
        return self.request("GET", self.path(api_version, kind, namespace, name))

    def find(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        """Like :meth:`get`, but None when the object does not exist."""
        try:
            return self.get(api_version, kind, namespace, name)
        except ApiError as error:
            if error.code == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None) -> list[Obj]:
        query = {"labelSelector": label_selector} if label_selector else None
        return self.request("GET", self.path(api_version, kind, namespace), query=query)["items"]

    def patch(self, api_version: str, kind: str, namespace: str | None, name: str, patch: Obj) -> Obj:
        """A JSON merge patch (``null`` removes a field)."""
        return self.request("PATCH", self.path(api_version, kind, namespace, name), patch,
                            "application/merge-patch+json")

    def patch_status(self, api_version: str, kind: str, namespace: str | None, name: str, status: Obj) -> Obj:
        """A JSON merge patch of ``status`` through the status subresource."""
        return self.request("PATCH", self.path(api_version, kind, namespace, name, "status"), {"status": status},
                            "application/merge-patch+json")

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        """Delete (or mark for deletion while finalizers remain); None when it was already gone."""
        try:
            return self.request("DELETE", self.path(api_version, kind, namespace, name))
        except ApiError as error:
            if error.code == 404:
                return None
            raise

    def watch(self, api_version: str, kind: str, namespace: str | None = None, resource_version: str | None = None,
              timeout_seconds: int = 1, label_selector: str | None = None,
              send_initial_events: bool = False) -> Generator[Obj, None, None]:
        """The raw watch events (``{"type", "object"}``) until the server ends the stream after
        ``timeout_seconds``."""
        query = {"watch": "true", "timeoutSeconds": str(timeout_seconds)}
        if resource_version is not None:
            query["resourceVersion"] = resource_version
        if label_selector:
            query["labelSelector"] = label_selector
        if send_initial_events:
            query |= {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
                      "allowWatchBookmarks": "true"}
        with self._open("GET", self.path(api_version, kind, namespace), query=query,
                        timeout=timeout_seconds + self.timeout) as stream:
            for line in stream:
                if line.strip():
                    yield json.loads(line)

    def events(self, namespace: str, involved_name: str | None = None) -> list[Obj]:
        """Core v1 Events in a namespace, oldest first, optionally only about one object."""
        events = [event for event in self.list("v1", "Event", namespace)
                  if involved_name is None or event.get("involvedObject", {}).get("name") == involved_name]
        return sorted(events, key=lambda e: (e.get("lastTimestamp") or e.get("eventTime") or "",
                                             int(e["metadata"].get("resourceVersion", 0))))

    # --- namespaces and CRDs -------------------------------------------------------------------

    def create_namespace(self, name: str) -> Obj:
        return self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def delete_namespace(self, name: str) -> Obj | None:
        return self.delete("v1", "Namespace", None, name)

    def apply_crds(self, documents: Iterable[Obj], timeout: float = 30.0) -> list[Obj]:
        """Create or replace CustomResourceDefinitions and wait until each is Established."""
        applied = []
        for crd in documents:
            name = crd["metadata"]["name"]
            current = self.find(CRD_API_VERSION, "CustomResourceDefinition", None, name)
            if current is None:
                self.create(crd)
            else:
                self.replace({**crd, "metadata": {**crd["metadata"],
                                                  "resourceVersion": current["metadata"]["resourceVersion"]}})
            applied.append(self.wait_for(
                lambda name=name: self.get(CRD_API_VERSION, "CustomResourceDefinition", None, name),
                until=_established, timeout=timeout, what=f"CRD {name} to be Established"))
        self._plurals.clear()
        return applied

    # --- waiting -------------------------------------------------------------------------------

    def wait_for(self, probe: Callable[[], T], until: Callable[[T], Any] | None = None, timeout: float = 10.0,
                 interval: float = 0.1, what: str | None = None) -> T:
        """Call ``probe`` until its result is truthy (or satisfies ``until``) and return that result.

        Exceptions from ``probe`` or ``until`` (a 404, a missing key) count as "not yet". On timeout,
        raise an AssertionError showing the last observed result and the last exception.
        """
        return wait_for(probe, until=until, timeout=timeout, interval=interval, what=what)

    async def wait_for_async(self, probe: Callable[[], T], until: Callable[[T], Any] | None = None,
                             timeout: float = 10.0, interval: float = 0.1, what: str | None = None) -> T:
        """:meth:`wait_for` for async tests: sleeps without blocking the event loop (where an
        in-process operator runs); each probe runs in a worker thread."""
        return await asyncio.to_thread(wait_for, probe, until, timeout, interval, what)


def wait_for(probe: Callable[[], T], until: Callable[[T], Any] | None = None, timeout: float = 10.0,
             interval: float = 0.1, what: str | None = None) -> T:
    """See :meth:`KubeClient.wait_for`."""
    deadline = time.monotonic() + timeout
    observed: Any = "<nothing observed>"
    failure: BaseException | None = None
    while True:
        try:
            observed = probe()
            failure = None
            if (until(observed) if until is not None else observed):
                return observed
        except (ApiError, LookupError, TypeError, AttributeError) as error:
            failure = error
        if time.monotonic() >= deadline:
            description = what or getattr(until or probe, "__qualname__", repr(until or probe))
            message = f"timed out after {timeout:g}s waiting for {description}\nlast observed: " \
                      f"{pprint.pformat(observed, width=110)}"
            if failure is not None:
                message += f"\nlast error: {failure!r}"
            raise AssertionError(message)
        time.sleep(interval)


def _established(crd: Obj) -> bool:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in crd.get("status", {}).get("conditions", []))


def load_yaml_documents(paths: Iterable[str | os.PathLike[str]]) -> list[Obj]:
    """All non-empty YAML documents of the given files, in order."""
    documents = []
    for path in paths:
        documents.extend(doc for doc in yaml.safe_load_all(pathlib.Path(path).read_text()) if doc)
    return documents
