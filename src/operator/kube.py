"""The one Kubernetes read the operator makes outside kopf: a provider's credentials Secret.
Uses the same connection kopf logged in with."""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.request
from typing import Any, Mapping


class SecretReader:
    def __init__(self) -> None:
        self._info: Any = None  # kopf.ConnectionInfo, set at login
        self._context: ssl.SSLContext | None = None

    def connect(self, info: Any) -> None:
        self._info = info
        self._context = _ssl_context(info) if info.server.startswith("https") else None

    def __call__(self, namespace: str, name: str) -> Mapping[str, str] | None:
        if self._info is None:
            raise RuntimeError("not logged in to the Kubernetes API yet")
        request = urllib.request.Request(
            f"{self._info.server.rstrip('/')}/api/v1/namespaces/{namespace}/secrets/{name}")
        if self._info.token:
            request.add_header("Authorization", f"{self._info.scheme or 'Bearer'} {self._info.token}")
        try:
            with urllib.request.urlopen(request, context=self._context, timeout=10) as response:
                secret = json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise
        return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


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
