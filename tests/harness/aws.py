"""The AWS side of the test harness: the sandbox's moto server with fault injection."""
from infra_operator.sandbox.aws import DUMMY_CREDENTIALS, CallLog, Faults, MotoServer, index_tags

__all__ = ["DUMMY_CREDENTIALS", "CallLog", "Faults", "MotoServer", "index_tags"]
