"""The Kubernetes requests the operator makes outside kopf, with the connection kopf logs in with
(a `kopf.ConnectionInfo`): a provider's credentials Secret, the check before start that the
cluster is reachable and serves our CRDs, and the leader-election Lease (`leader.py`)."""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.request
from typing import Any, Iterable, Mapping

from .engine.kind import SecretValue
from .engine.schema import GROUP, VERSION
from .engine.secret_outputs import WRITTEN_FOR, Owner, WrittenSecret


class ApiClient:
    """Requests to the API server of a kopf.ConnectionInfo."""

    def __init__(self, info: Any = None, timeout: float = 10.0) -> None:
        self._info: Any = None
        self._context: ssl.SSLContext | None = None
        self._timeout = timeout
        if info is not None:
            self.connect(info)

    @property
    def server(self) -> str:
        return self._info.server.rstrip("/") if self._info is not None else ""

    def connect(self, info: Any) -> None:
        self._info = info
        self._context = _ssl_context(info) if info.server.startswith("https") else None

    def get(self, path: str) -> Any:
        """The decoded JSON at `path`; urllib's HTTPError/URLError when it fails."""
        return self._send(urllib.request.Request(f"{self.server}{path}", headers={"Accept": "application/json"}))

    def merge_patch(self, path: str, patch: Mapping[str, Any]) -> Any:
        """JSON merge patch of the object at `path`; the patched object."""
        return self._send(urllib.request.Request(
            f"{self.server}{path}", data=json.dumps(patch).encode(), method="PATCH",
            headers={"Accept": "application/json", "Content-Type": "application/merge-patch+json"}))

    def send(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        """`method` on `path` with `body` as JSON; the decoded answer, or urllib's
        HTTPError/URLError (or a socket timeout) when it fails."""
        data = None if body is None else json.dumps(body).encode()
        return self._send(urllib.request.Request(
            f"{self.server}{path}", data=data, method=method,
            headers={"Accept": "application/json", "Content-Type": "application/json"}), timeout)

    def _send(self, request: urllib.request.Request, timeout: float | None = None) -> Any:
        if self._info is None:
            raise RuntimeError("not logged in to the Kubernetes API yet")
        if self._info.token:
            request.add_header("Authorization", f"{self._info.scheme or 'Bearer'} {self._info.token}")
        elif self._info.username is not None:
            basic = base64.b64encode(f"{self._info.username}:{self._info.password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {basic}")
        with urllib.request.urlopen(request, context=self._context, timeout=timeout or self._timeout) as response:
            return json.load(response)


class SecretReader:
    """A Secret's decoded data (None when it does not exist), read with kopf's login; and the
    engine's SecretSink: the Secrets that receive a value AWS generates (kind.SecretOutput)."""

    def __init__(self) -> None:
        self._api = ApiClient()

    def connect(self, info: Any) -> None:
        self._api.connect(info)

    def __call__(self, namespace: str, name: str) -> Mapping[str, str] | None:
        found = self.versioned(namespace, name)
        return found[0] if found else None

    def versioned(self, namespace: str, name: str) -> tuple[Mapping[str, str], str] | None:
        """The decoded data and a version that changes whenever the data may have (uid and
        resourceVersion, never derived from the values)."""
        secret = self._secret(namespace, name)
        if secret is None:
            return None
        return _decoded(secret.get("data")), _version(secret)

    def config_map(self, namespace: str, name: str) -> tuple[Mapping[str, str], str] | None:
        """A ConfigMap's `data` and decoded `binaryData`, as `versioned` gives a Secret's."""
        found = self._object(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        if found is None:
            return None
        return {**(found.get("data") or {}), **_decoded(found.get("binaryData"))}, _version(found)


    # -- engine.secret_outputs.SecretSink ---------------------------------------------------

    def inspect(self, namespace: str, name: str) -> WrittenSecret | None:
        secret = self._secret(namespace, name)
        return None if secret is None else _written(secret)

    def write(self, namespace: str, name: str, owner: Owner, data: Mapping[str, SecretValue],
              written_for: str) -> None:
        collection = f"/api/v1/namespaces/{namespace}/secrets"
        body: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace, "annotations": {WRITTEN_FOR: written_for},
                         "ownerReferences": [{"apiVersion": f"{GROUP}/{VERSION}", "kind": owner.kind,
                                              "name": owner.name, "uid": owner.uid, "controller": True}]},
            "data": {key: base64.b64encode(_bytes(value.reveal())).decode() for key, value in data.items()},
        }
        try:
            self._api.send("POST", collection, body)
            return
        except urllib.error.HTTPError as exc:
            if exc.code != 409:
                raise
        existing = self._api.get(f"{collection}/{name}")
        if owner.uid not in _written(existing).owners:
            raise RuntimeError(f"Secret {namespace}/{name} is not owned by {owner.kind} {owner.name}")
        body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
        self._api.send("PUT", f"{collection}/{name}", body)

    def disown(self, namespace: str, name: str, owner_uid: str) -> None:
        secret = self._secret(namespace, name)
        references = ((secret or {}).get("metadata") or {}).get("ownerReferences") or []
        kept = [ref for ref in references if ref.get("uid") != owner_uid]
        if len(kept) != len(references):
            self._api.merge_patch(f"/api/v1/namespaces/{namespace}/secrets/{name}",
                                  {"metadata": {"ownerReferences": kept or None}})

    def _secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Secret as the API serves it; None when it does not exist."""
        return self._object(f"/api/v1/namespaces/{namespace}/secrets/{name}")

    def _object(self, path: str) -> dict[str, Any] | None:
        try:
            return self._api.get(path)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise


def _written(secret: Mapping[str, Any]) -> WrittenSecret:
    meta = secret.get("metadata") or {}
    return WrittenSecret(frozenset(ref.get("uid", "") for ref in meta.get("ownerReferences") or ()),
                         (meta.get("annotations") or {}).get(WRITTEN_FOR), frozenset(secret.get("data") or {}))


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


class StartupProblem(Exception):
    """Why the operator cannot start (no cluster, CRDs missing, port taken): a one-line message
    for the user, reported without a traceback."""


def check_served(info: Any, group_version: str, plurals: Iterable[str], install_hint: str) -> None:
    """Raise StartupProblem unless `info` names a reachable API server whose discovery lists
    every one of `plurals` in `group_version` (a GET /apis/<group>/<version>, which any
    authenticated user may make)."""
    if info is None:
        raise StartupProblem("no Kubernetes cluster configured: no in-cluster service account and no kubeconfig "
                             "(set KUBECONFIG or create ~/.kube/config)")
    server = info.server
    try:
        listing = ApiClient(info).get(f"/apis/{group_version}")
        served = {resource["name"] for resource in listing.get("resources", [])}
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise StartupProblem(f"the Kubernetes API at {server} refused the credentials "
                                 f"(HTTP {exc.code} {exc.reason})") from None
        if exc.code != 404:
            raise StartupProblem(f"the Kubernetes API at {server} answered HTTP {exc.code} {exc.reason} "
                                 f"for /apis/{group_version}") from None
        served = set()  # the group is not served at all
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StartupProblem(f"cannot reach the Kubernetes API at {server}: {reason}") from None
    group = group_version.split("/")[0]
    missing = [f"{plural}.{group}" for plural in plurals if plural not in served]
    if missing:
        raise StartupProblem(f"CRDs not installed: {', '.join(missing)}; {install_hint}")


def _ssl_context(info: Any) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if info.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if info.ca_path:
        context.load_verify_locations(cafile=info.ca_path)
    elif info.ca_data:
        data = info.ca_data if isinstance(info.ca_data, str) else info.ca_data.decode()
        context.load_verify_locations(cadata=_maybe_base64(data))
    cert, key = info.certificate_path, info.private_key_path
    with tempfile.TemporaryDirectory() as scratch:
        if info.certificate_data:
            cert = _write(scratch, "cert.pem", info.certificate_data)
        if info.private_key_data:
            key = _write(scratch, "key.pem", info.private_key_data)
        if cert:
            context.load_cert_chain(cert, key)
    return context


def _maybe_base64(data: str) -> str:
    return data if "-----BEGIN" in data else base64.b64decode(data).decode()


def _write(folder: str, name: str, data: str | bytes) -> str:
    path = os.path.join(folder, name)
    text = data if isinstance(data, str) else data.decode()
    with open(path, "w") as handle:
        handle.write(_maybe_base64(text))
    return path


def _decoded(data: Mapping[str, str] | None) -> dict[str, str]:
    # surrogateescape: a binary value survives as text and encodes back to its exact bytes.
    return {k: base64.b64decode(v).decode("utf-8", "surrogateescape") for k, v in (data or {}).items()}


def _version(found: Mapping[str, Any]) -> str:
    meta = found.get("metadata") or {}
    return f"{meta.get('uid', '')}/{meta.get('resourceVersion', '')}"
