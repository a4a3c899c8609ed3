"""Content negotiation as the API server does it: an ``Accept`` entry may ask for another shape
of the answer (``application/json;as=Table;g=meta.k8s.io;v=v1``); the first entry the server can
serve wins."""
from __future__ import annotations

from collections.abc import Collection

# (as, g, v) of an alternative answer, e.g. ("Table", "meta.k8s.io", "v1").
Shape = tuple[str, str, str]


def negotiate(accept: str | None, shapes: Collection[Shape]) -> Shape | None:
    """The shape the client prefers among ``shapes``; None for the plain JSON object."""
    for entry in (accept or "").split(","):
        media_type, *parameters = (part.strip() for part in entry.split(";"))
        if media_type not in ("application/json", "application/*", "*/*"):
            continue
        params = dict(p.split("=", 1) for p in parameters if "=" in p)
        if "as" not in params:
            return None
        shape = (params["as"], params.get("g", ""), params.get("v", ""))
        if shape in shapes:
            return shape
    return None
