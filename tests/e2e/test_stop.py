"""SIGTERM stops `infra-operator run` once the AWS call in flight has answered: the handler's
thread finishes (its outcome is logged), kopf is left no task of its own to wait for (it would
wait 5 s for its waiter on our stop flag), and nothing about it is a WARNING or an ERROR."""

from __future__ import annotations

import asyncio
import re
import signal

from infra_operator.operator.wiring import run_operator

from .runner import SubprocessOperator, kube_server
from .runner import test_config as operator_config  # imported as test_config, pytest would collect it


def test_sigterm_lets_the_aws_call_in_flight_answer_then_exits(cluster, operator, kube):
    operator.stop()  # the session operator would take the create from the one we stop
    try:
        cluster.aws.faults.delay(3, "ec2", "AllocateAddress", times=1, after=True)
        child = SubprocessOperator(kube_server(kube), "--log-level", "DEBUG").start()
        try:
            cluster.create("ElasticIP", "stopping", {"providerRef": {"name": "aws"}})
            uid = cluster.get("ElasticIP", "stopping")["metadata"]["uid"]
            # The address exists in AWS; the operator still waits for the answer.
            cluster.kube.wait_for(lambda: cluster.owned_addresses(uid), timeout=30, what="address allocated in AWS")
            child.process.send_signal(signal.SIGTERM)
            exit_code = child.process.wait(30)
        finally:
            child.kill()
        log = child.log()
    finally:
        operator.start()
    assert exit_code == 0, log[-3000:]
    signalled = log.index("SIGTERM received: stopping")
    answered = log.index(f"ElasticIP {cluster.namespace}/stopping is Ready: ")
    assert signalled < answered, log[-3000:]
    assert "Hung tasks stopping is skipped: no tasks given." in log, log[-3000:]
    assert "Traceback" not in log
    # Stopping while busy is routine (a rolling update): kopf's warnings about it are INFO.
    assert not re.findall(r"^\S+ \S+ (?:WARNING|ERROR) .*", log, re.MULTILINE)


async def test_a_stopped_operator_leaves_its_event_loop_nothing_that_kills_the_thread(kube, telemetry, namespace):
    """kopf, cancelled instead of stopped by its own flag, schedules a SIGKILL of its loop's
    thread 10 minutes later: a loop that goes on (a standby that lost the Lease and waits for it
    again, this test session) would die then."""
    loop = asyncio.get_running_loop()
    stop, ready = asyncio.Event(), asyncio.Event()
    config = operator_config(kube_server(kube), namespaces=[namespace])
    try:
        running = asyncio.create_task(run_operator(config, telemetry, stop_flag=stop, ready_flag=ready))
        await asyncio.wait_for(ready.wait(), timeout=60)
        stop.set()
        await running
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # taken over by kopf and us: the session's again
            loop.remove_signal_handler(sig)
    kills = [timer for timer in loop._scheduled if not timer.cancelled() and timer._callback is signal.pthread_kill]
    for timer in kills:
        timer.cancel()  # so that a failure here does not kill the session later
    assert not kills, kills
