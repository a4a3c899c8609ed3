"""The Kubernetes side of the test harness: the API server emulation and the kubectl-like client
of `infra_operator.sandbox.kube`, with a kopf login for operators run by tests."""
from __future__ import annotations

from typing import Any

from infra_operator.sandbox import kube as _sandbox_kube
from infra_operator.sandbox.kube import ApiError, EmulatorServer, KubeEmulator, load_yaml_documents, wait_for


class ClusterAccess(_sandbox_kube.ClusterAccess):
    def kopf_connection_info(self) -> Any:
        """What a ``@kopf.on.login`` handler returns to reach this cluster::

            @kopf.on.login()
            def login(**_):
                return access.kopf_connection_info()
        """
        import kopf  # only operator runners need it

        return kopf.ConnectionInfo(
            server=self.server, ca_path=self.ca_path, ca_data=self.ca_data, insecure=self.insecure or None,
            token=self.token, scheme="Bearer" if self.token else None,
            certificate_path=self.certificate_path, certificate_data=self.certificate_data,
            private_key_path=self.private_key_path, private_key_data=self.private_key_data,
            username=self.username, password=self.password, default_namespace=self.default_namespace,
        )


class KubeClient(_sandbox_kube.KubeClient):
    access_type = ClusterAccess


__all__ = ["ApiError", "ClusterAccess", "EmulatorServer", "KubeClient", "KubeEmulator", "load_yaml_documents",
           "wait_for"]
