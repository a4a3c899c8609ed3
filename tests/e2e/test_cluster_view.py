"""The wiring's view of our objects over kopf's indexes (no operator run)."""

from infra_operator.operator.wiring import IndexedCluster


def test_a_kind_the_operator_does_not_serve_has_no_objects():
    """A reference to such a kind (e.g. a KMSKey before that kind is installed) waits as for a
    missing object, instead of failing the reconcile."""
    view = IndexedCluster({"SQSQueue": "sqsqueues"}, {})
    assert view.find("KMSKey", "ns", "orders") is None
    assert view.find("SQSQueue", "ns", "orders") is None
