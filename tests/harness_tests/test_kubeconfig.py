"""KubeClient's kubeconfig handling, against a real TLS server that demands what kind's API
server demands (a CA-verified server certificate, a client certificate or a bearer token)."""
from __future__ import annotations

import base64
import datetime
import http.server
import json
import pathlib
import ssl
import threading
import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.kube import ClusterAccess, KubeClient


class Pem:
    """A certificate and its key, as PEM bytes."""

    def __init__(self, name: str, issuer: Pem | None = None, server: bool = False) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        builder = (x509.CertificateBuilder().subject_name(subject)
                   .issuer_name(issuer.certificate.subject if issuer else subject)
                   .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        self.certificate = builder.sign(issuer.key if issuer else self.key, hashes.SHA256())
        self.cert_pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        self.key_pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())


class FakeApiServer:
    """HTTPS on localhost answering ``/version``, recording each caller's certificate and token."""

    def __init__(self, directory: pathlib.Path, require_client_certificate: bool) -> None:
        self.ca = Pem("test-ca")
        self.server_pem = Pem("localhost", issuer=self.ca, server=True)
        self.client_pem = Pem("tester", issuer=self.ca)
        self.seen: list[dict[str, Any]] = []
        for name, data in (("ca.crt", self.ca.cert_pem), ("server.crt", self.server_pem.cert_pem),
                           ("server.key", self.server_pem.key_pem)):
            (directory / name).write_bytes(data)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(directory / "server.crt", directory / "server.key")
        context.load_verify_locations(directory / "ca.crt")
        context.verify_mode = ssl.CERT_REQUIRED if require_client_certificate else ssl.CERT_OPTIONAL
        seen = self.seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                peer = self.connection.getpeercert() or {}
                subject = dict(pair[0] for pair in peer.get("subject", ()))
                seen.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                             "client": subject.get("commonName")})
                body = json.dumps({"major": "1", "minor": "30"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://localhost:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mtls_server(tmp_path: pathlib.Path) -> Iterator[FakeApiServer]:
    server = FakeApiServer(tmp_path, require_client_certificate=True)
    yield server
    server.stop()


@pytest.fixture
def token_server(tmp_path: pathlib.Path) -> Iterator[FakeApiServer]:
    server = FakeApiServer(tmp_path, require_client_certificate=False)
    yield server
    server.stop()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_kubeconfig(path: pathlib.Path, cluster: dict[str, Any], user: dict[str, Any]) -> pathlib.Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "c", "cluster": cluster}], "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "test", "context": {"cluster": "c", "user": "u", "namespace": "ops"}},
                     {"name": "other", "context": {"cluster": "c", "user": "nobody"}}],
    }))
    return path


def test_client_certificate_from_embedded_data(mtls_server: FakeApiServer, tmp_path: pathlib.Path) -> None:
    config = write_kubeconfig(tmp_path / "config", {
        "server": mtls_server.url, "certificate-authority-data": b64(mtls_server.ca.cert_pem)}, {
        "client-certificate-data": b64(mtls_server.client_pem.cert_pem),
        "client-key-data": b64(mtls_server.client_pem.key_pem)})
    client = KubeClient.from_kubeconfig(config)
    assert client.request("GET", "/version")["major"] == "1"
    assert mtls_server.seen == [{"path": "/version", "authorization": None, "client": "tester"}]
    assert client.access.default_namespace == "ops"


def test_client_certificate_from_files_relative_to_the_kubeconfig(mtls_server: FakeApiServer,
                                                                  tmp_path: pathlib.Path) -> None:
    (tmp_path / "client.crt").write_bytes(mtls_server.client_pem.cert_pem)
    (tmp_path / "client.key").write_bytes(mtls_server.client_pem.key_pem)
    config = write_kubeconfig(tmp_path / "config", {"server": mtls_server.url, "certificate-authority": "ca.crt"},
                              {"client-certificate": "client.crt", "client-key": "client.key"})
    assert KubeClient.from_kubeconfig(config).request("GET", "/version")["minor"] == "30"
    assert mtls_server.seen[0]["client"] == "tester"


def test_bearer_token_with_insecure_skip_verify(token_server: FakeApiServer, tmp_path: pathlib.Path) -> None:
    config = write_kubeconfig(tmp_path / "config", {"server": token_server.url, "insecure-skip-tls-verify": True},
                              {"token": "s3cr3t"})
    KubeClient.from_kubeconfig(config).request("GET", "/version")
    assert token_server.seen == [{"path": "/version", "authorization": "Bearer s3cr3t", "client": None}]


def test_an_untrusted_server_is_refused(token_server: FakeApiServer, tmp_path: pathlib.Path) -> None:
    config = write_kubeconfig(tmp_path / "config", {"server": token_server.url}, {"token": "s3cr3t"})
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        KubeClient.from_kubeconfig(config).request("GET", "/version")
    assert token_server.seen == []


def test_kopf_connection_info_carries_the_same_access(tmp_path: pathlib.Path) -> None:
    config = write_kubeconfig(tmp_path / "config", {"server": "https://k.example:6443/",
                                                    "certificate-authority-data": "Q0E="},
                              {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"})
    info = ClusterAccess.from_kubeconfig(config).kopf_connection_info()
    assert (info.server, info.ca_data, info.certificate_data, info.private_key_data, info.default_namespace) == (
        "https://k.example:6443", "Q0E=", "Q0VSVA==", "S0VZ", "ops")
    assert info.token is None and info.insecure is None

    emulated = ClusterAccess(server="http://127.0.0.1:1234").kopf_connection_info()
    assert (emulated.server, emulated.token, emulated.certificate_data) == ("http://127.0.0.1:1234", None, None)


def test_context_selection_and_missing_entries(tmp_path: pathlib.Path) -> None:
    config = write_kubeconfig(tmp_path / "config", {"server": "https://k.example"}, {"token": "t"})
    with pytest.raises(ValueError, match="no user named 'nobody'"):
        ClusterAccess.from_kubeconfig(config, context="other")
    with pytest.raises(ValueError, match="no context named 'absent'"):
        ClusterAccess.from_kubeconfig(config, context="absent")


def test_written_kubeconfig_reads_back_the_same_access(mtls_server: FakeApiServer, tmp_path: pathlib.Path) -> None:
    access = ClusterAccess(server=mtls_server.url, ca_data=b64(mtls_server.ca.cert_pem),
                           certificate_data=b64(mtls_server.client_pem.cert_pem),
                           private_key_data=b64(mtls_server.client_pem.key_pem), default_namespace="ops")
    written = access.write_kubeconfig(tmp_path / "written")
    assert ClusterAccess.from_kubeconfig(written) == access
    assert KubeClient.from_kubeconfig(written).request("GET", "/version")["major"] == "1"
