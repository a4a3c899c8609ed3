"""What SQS queues and SNS topics share: a FIFO one's name ends in .fifo (and only a FIFO
one's), and content-based deduplication is for FIFO ones only."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.delta import attribute_value
from ..engine.schema import immutable
from ..provider.errors import TerminalError


def fifo_messages(noun: str, fifo_field: str) -> tuple[str, str]:
    return (f"a FIFO {noun}'s name must end in .fifo, and only a FIFO {noun}'s may",
            f"contentBasedDeduplication needs {fifo_field}")


def fifo_rules(noun: str, name_field: str, fifo_field: str) -> tuple[dict[str, str], ...]:
    """The CEL rules (mirrored by `check_fifo`)."""
    name, dedup = fifo_messages(noun, fifo_field)
    return ({"rule": f"self.{fifo_field} == self.{name_field}.endsWith('.fifo')", "message": name},
            {"rule": f"!has(self.contentBasedDeduplication) || !self.contentBasedDeduplication || self.{fifo_field}",
             "message": dedup})


def check_fifo(spec: Mapping[str, Any], noun: str, name_field: str, fifo_field: str) -> None:
    name, dedup = fifo_messages(noun, fifo_field)
    fifo = spec.get(fifo_field, False)
    if fifo != spec[name_field].endswith(".fifo"):
        raise TerminalError(name)
    if spec.get("contentBasedDeduplication") and not fifo:
        raise TerminalError(dedup)


def content_based_deduplication(spec: Mapping[str, Any], fifo_field: str) -> bool | None:
    """The desired value: only a FIFO queue or topic has the attribute (None: not compared)."""
    return spec.get("contentBasedDeduplication", False) if spec.get(fifo_field) else None


def observed_deduplication(attributes: Mapping[str, str]) -> bool | None:
    if "ContentBasedDeduplication" not in attributes:
        return None
    return attributes["ContentBasedDeduplication"] == "true"


def deduplication_attribute(desired: Mapping[str, Any], fields: frozenset[str]) -> dict[str, str]:
    """The ContentBasedDeduplication attribute, when among `fields` and the queue or topic is FIFO."""
    if "contentBasedDeduplication" not in fields or desired["contentBasedDeduplication"] is None:
        return {}
    return {"ContentBasedDeduplication": attribute_value(desired["contentBasedDeduplication"])}


def fifo_properties(noun: str, name_field: str, fifo_field: str, name_pattern: str,
                    fifo_description: str) -> dict[str, Any]:
    """The name, FIFO and deduplication spec properties (name and FIFO cannot change)."""
    return {
        name_field: {"type": "string", "pattern": name_pattern,
                     "description": f"{noun.capitalize()} name (a FIFO {noun}'s ends in .fifo); cannot change "
                                    "after creation.",
                     **immutable(f"{name_field} is immutable")},
        fifo_field: {"type": "boolean", "default": False, "description": fifo_description,
                     **immutable(f"{fifo_field} is immutable")},
        "contentBasedDeduplication": {"type": "boolean",
                                      "description": "FIFO only: deduplicate by a hash of the message body."},
    }
