"""An operator killed (SIGKILL) between the AWS create and the status write never creates a
second resource: the restarted operator adopts the one tagged as owned."""

from __future__ import annotations

from .runner import SubprocessOperator, kube_server


def test_killed_after_create_before_status_write_adopts_exactly_one(cluster, operator, kube):
    operator.stop()  # the session operator would race the one we kill
    try:
        cluster.aws.faults.delay(30, "ec2", "AllocateAddress", times=1, after=True)
        child = SubprocessOperator(kube_server(kube)).start()
        try:
            cluster.create("ElasticIP", "crashy", {"providerRef": {"name": "aws"}})
            uid = cluster.get("ElasticIP", "crashy")["metadata"]["uid"]
            # The address exists in AWS while the operator still waits for the answer.
            cluster.kube.wait_for(lambda: cluster.owned_addresses(uid), timeout=30, what="address allocated in AWS")
        finally:
            child.kill()
        assert not (cluster.get("ElasticIP", "crashy").get("status") or {}).get("allocationId")
    finally:
        operator.start()
    eip = cluster.wait_ready("ElasticIP", "crashy", timeout=30)
    [address] = cluster.owned_addresses(uid)
    assert eip["status"]["allocationId"] == address["AllocationId"]
    cluster.wait_event("crashy", "Adopted")
