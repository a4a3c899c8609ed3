"""Cardinality: with 5,000 objects of a kind the exposition holds exactly the series the
catalog implies — only the creation-timestamp gauge grows with the objects — and no overflow
series, also after 5,000 more came and went; the gauge's documented limit holds to the series.

The engine is driven with an in-memory kind (the AWS side costs nothing here); everything
else — reconciler, telemetry, OTel SDK, Prometheus exposition — is the operator's."""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from infra_operator.operator.engine.delta import OWNER_UID
from infra_operator.operator.engine.kind import AWSClients, Kind, Raw, State, TagChange
from infra_operator.operator.engine.reconciler import EngineSettings, Reconciler
from infra_operator.operator.provider.registry import ProviderRegistry
from infra_operator.operator.provider.session import ProviderConfig
from infra_operator.telemetry import Telemetry, TelemetrySettings, catalog, setup_telemetry

from .engine_driver import InMemoryCluster

LIVE = 5_000
SOME = 10  # objects that are invalid, drift, or are deleted
OVERFLOW_LABEL = "otel_metric_overflow"


class InMemoryAddress(Kind):
    """A kind whose 'AWS' is a dict (under a lock: handlers run on several threads), as fast as
    a kind can be."""

    kind = "InMemoryAddress"
    plural = "inmemoryaddresses"
    identifier = "addressId"

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self._by_owner: dict[str, str] = {}  # owner uid tag -> id
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {}

    def observe(self, raw: Raw) -> State:
        return {"tags": dict(raw["Tags"])}

    def identify(self, raw: Raw) -> str:
        return raw["Id"]

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        return self.resources.get(ident)

    def list_managed(self, aws: AWSClients, managed_tag: tuple[str, str]) -> list[Raw]:
        """The describe cache's snapshot, as the EC2 kinds list theirs."""
        key, value = managed_tag
        with self._lock:
            return [raw for raw in self.resources.values() if raw["Tags"].get(key) == value]

    def find_all_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[Raw]:
        with self._lock:
            ident = self._by_owner.get(owner_uid_tag[1])
            return [self.resources[ident]] if ident in self.resources else []

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        with self._lock:
            ident = f"addr-{next(self._ids)}"
            self.resources[ident] = {"Id": ident, "Tags": dict(tags)}
            self._by_owner[tags[OWNER_UID]] = ident
            return self.resources[ident]

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        tags = self.resources[ident]["Tags"]
        tags.update(change.add)
        for key in change.remove:
            tags.pop(key, None)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        with self._lock:
            self.resources.pop(ident, None)


def histogram(label_sets: int) -> int:
    """Samples of a histogram with that many label sets: its buckets, +Inf, _sum and _count."""
    return label_sets * (len(catalog.BUCKETS) + 3)


def expected_samples(live: int) -> dict[str, int]:
    """What the catalog implies for the workload below (one resource type): per metric, the
    label sets the workload uses times the samples per label set."""
    return {
        catalog.RECONCILE_TOTAL.name: 2,  # result: success, error
        catalog.RECONCILE_DURATION.name: histogram(1),
        catalog.RECONCILE_ERRORS.name: 1,  # error_type: validation_failed
        catalog.RESOURCES.name: len(catalog.STATUSES),  # every status, zeros included
        catalog.RESOURCE_CREATION_TIMESTAMP.name: live,  # one per live object
        catalog.DRIFT_DETECTED.name: 1,  # severity: info (tags)
        catalog.DRIFT_HEALED.name: 1,
        catalog.DRIFT_DETECTION_DURATION.name: histogram(1),
        catalog.FINALIZER_DURATION.name: histogram(1),
        catalog.WORKQUEUE_DEPTH.name: 1,
        catalog.WORKQUEUE_ADDS.name: 1,
        catalog.CACHE_HITS.name: 1,
        catalog.CACHE_MISSES.name: 1,
    }


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    live = setup_telemetry(TelemetrySettings.from_env(environ={}))
    yield live
    live.shutdown()


def exposition(telemetry: Telemetry) -> tuple[Counter, set[str], set[str]]:
    """Samples per catalog metric, resource names of the timestamp gauge, and every label name."""
    samples: Counter = Counter()
    names: set[str] = set()
    labels: set[str] = set()
    for sample, pairs in telemetry.sample_values():
        metric = sample if sample in catalog.BY_NAME else re.sub(r"_(bucket|sum|count)$", "", sample)
        samples[metric] += 1
        labels |= {label for label, _ in pairs}
        if metric == catalog.RESOURCE_CREATION_TIMESTAMP.name:
            names.add(dict(pairs)["resource_name"])
    return samples, names, labels


def test_five_thousand_objects_make_only_the_series_the_catalog_implies(telemetry):
    kind = InMemoryAddress()
    providers = ProviderRegistry()
    providers.apply(ProviderConfig("ns/aws", "us-east-1"))
    providers.mark("ns/aws", True)
    cluster = InMemoryCluster(Reconciler(telemetry, providers, EngineSettings()),
                              [kind])
    generation = itertools.count()

    def add_objects(count: int) -> list[tuple[str, str]]:
        keys = [("InMemoryAddress", f"addr-{next(generation)}") for _ in range(count)]
        for _, name in keys:
            cluster.add("InMemoryAddress", name, {})
        cluster.converge(keys, workers=4)
        return keys

    first = add_objects(LIVE)
    for key in first[:SOME]:  # tags changed behind the operator's back: drift, healed on resync
        kind.resources[cluster.bodies[key]["status"]["addressId"]]["Tags"]["team"] = "intruder"
    cluster.resync(first, workers=4)
    for index in range(SOME):  # invalid specs: reconcile errors
        cluster.add("InMemoryAddress", f"invalid-{index}", {"tags": {"aws:reserved": "x"}})
        assert cluster.engine.reconcile(kind, cluster.bodies[("InMemoryAddress", f"invalid-{index}")], "create",
                                        cluster).permanent
    cluster.delete(first[-SOME:], workers=4)
    live = LIVE - SOME + SOME  # the invalid objects are live objects too
    samples, names, labels = exposition(telemetry)
    assert dict(samples) == expected_samples(live)
    assert len(names) == live and OVERFLOW_LABEL not in labels

    # Churn: the first objects go and as many new ones come; the SDK keeps the gone ones'
    # series (see catalog.RESOURCE_SERIES_LIMIT), and still nothing overflows.
    cluster.delete(first[:-SOME], workers=4)
    second = add_objects(LIVE - SOME)
    samples, names, labels = exposition(telemetry)
    assert dict(samples) == expected_samples(live)
    assert names == {f"ns/{name}" for _, name in second} | {f"ns/invalid-{i}" for i in range(SOME)}
    assert OVERFLOW_LABEL not in labels


def test_the_creation_timestamp_gauge_holds_its_documented_limit_of_series(telemetry):
    limit = catalog.RESOURCE_SERIES_LIMIT
    for index in range(limit):
        telemetry.resources.set("InMemoryAddress", index, "ready", f"addr-{index}", 1.8e9)
    samples, names, labels = exposition(telemetry)
    assert samples[catalog.RESOURCE_CREATION_TIMESTAMP.name] == limit and OVERFLOW_LABEL not in labels
    telemetry.resources.set("InMemoryAddress", limit, "ready", "one-too-many", 1.8e9)
    _, names, labels = exposition(telemetry)
    assert OVERFLOW_LABEL in labels and "one-too-many" not in names
