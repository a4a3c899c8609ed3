"""The Kubernetes API emulation over HTTP: kmock's server and API discovery, with the object store.

kmock (``KubernetesScaffold``) serves the HTTP port, ``/api``, ``/apis``, ``/version`` and the
resource discovery kopf reads. Object requests (list, watch, get, create, replace, patch, delete)
go to :class:`~infra_operator.sandbox.kube.store.Store`, which behaves like the API server where kmock's own
emulator does not (resourceVersion, watch resumption, generation, status subresource, schemas).
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Callable
from typing import Any

import aiohttp.web
import attrs
import kmock

from . import errors
from .patching import json_patch, merge_patch
from .selectors import field_selector, label_selector
from .store import CRD_KEY, Kind, Obj, Store, WatchEvent, served_resources

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# How often an idle watch checks whether its client went away.
_IDLE_CHECK_SECONDS = 1.0


@dataclasses.dataclass(frozen=True)
class ObjectPath:
    """``/api(s)/[GROUP/]VERSION/[namespaces/NS/]PLURAL[/NAME[/SUBRESOURCE]]``."""

    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_object_path(path: str) -> ObjectPath | None:
    """The object request a path names, or None for discovery and other paths."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    # /api/v1/namespaces/NS/status is the namespace's own subresource, not a resource named "status".
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    plural, name = rest[0], rest[1] if len(rest) > 1 else None
    subresource = "/".join(rest[2:]) or None
    return ObjectPath(group, version, plural, namespace, name, subresource)


@attrs.define(kw_only=True)
class KubeEmulator(kmock.KubernetesScaffold):
    """An aiohttp handler answering like a Kubernetes API server; run it with ``kmock.Server``."""

    store: Store = attrs.field(factory=Store)
    _written: asyncio.Event = attrs.field(factory=asyncio.Event, init=False)
    _closing: bool = attrs.field(default=False, init=False)
    # Bumped by drop_watches: a watch ends when it changes.
    _watch_epoch: int = attrs.field(default=0, init=False)
    # How many watch requests were answered (a client that lost its stream opens another).
    watches_opened: int = attrs.field(default=0, init=False)
    # How many watches were answered 410 Gone (their resourceVersion no longer in the log).
    watches_expired: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.store.listeners.append(self._wake_watchers)
        self._sync_discovery()

    def _wake_watchers(self) -> None:
        self._written.set()
        self._written = asyncio.Event()

    def end_watches(self) -> None:
        """End every open watch stream (as the API server does when it shuts down), so that the
        HTTP server does not wait for watchers that never hang up."""
        self._closing = True
        self._wake_watchers()

    def drop_watches(self) -> None:
        """End the watch streams open now, as an API server restart or a load balancer does;
        clients reconnect and resume from the last resourceVersion they saw."""
        self._watch_epoch += 1
        self._wake_watchers()

    def _sync_discovery(self) -> None:
        """Publish what the store serves in kmock's discovery endpoints."""
        for resource in list(self.resources):
            del self.resources[resource]
        for kind, version in served_resources(self.store.kinds.values()):
            self.resources[kmock.resource(group=kind.group, version=version, plural=kind.plural)] = (
                kmock.ResourceInfo(namespaced=kind.namespaced, kind=kind.kind, singular=kind.singular,
                                   verbs=set(VERBS), shortnames=set(kind.short_names),
                                   categories=set(kind.categories),
                                   subresources={"status"} if kind.status_subresource else set()))

    async def _serve_version(self, request: kmock.Request) -> kmock.Payload:
        # kmock writes the core group's version as "/v1"; the API server writes "v1".
        listing = await super()._serve_version(request)
        listing["groupVersion"] = listing["groupVersion"].lstrip("/")
        return listing

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        target = parse_object_path(raw_request.path)
        if target is None:
            return await super().__call__(raw_request)
        try:
            return await self._serve(raw_request, target)
        except errors.ApiError as error:
            return aiohttp.web.json_response(error.status(), status=error.code)

    async def _serve(self, request: aiohttp.web.BaseRequest, target: ObjectPath) -> aiohttp.web.StreamResponse:
        store = self.store
        kind = store.kind(target.group, target.version, target.plural)
        cluster_wide_read = request.method == "GET" and target.name is None
        if (target.namespace is not None and not kind.namespaced) or (
                kind.namespaced and target.namespace is None and not cluster_wide_read):
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        version, namespace, name, query = target.version, target.namespace, target.name, request.query
        selectors = (label_selector(query.get("labelSelector")), field_selector(query.get("fieldSelector")))
        match request.method, name:
            case "GET", None if query.get("watch") in ("true", "1"):
                return await self._watch(request, kind, version, namespace)
            case "GET", None:
                items = store.list(kind, version, namespace, *selectors)
                return _json({"apiVersion": kind.api_version(version), "kind": f"{kind.kind}List",
                              "metadata": {"resourceVersion": store.resource_version, "continue": ""},
                              "items": items})
            case "GET", str():
                return _json(store.get(kind, version, namespace, name))
            case "POST", None:
                body = await _body(request)
                return _json(self._write(kind, lambda: store.create(kind, version, namespace, body)), 201)
            case "PUT", str():
                body = await _body(request)
                return _json(self._write(kind, lambda: store.replace(
                    kind, version, namespace, name, body, target.subresource)))
            case "PATCH", str():
                change = _patcher(kind, request.content_type, await _body(request))
                return _json(self._write(kind, lambda: store.update(
                    kind, version, namespace, name, change, target.subresource)))
            case "DELETE", str():
                return _json(self._write(kind, lambda: store.delete(kind, version, namespace, name)))
            case "DELETE", None:
                deleted = [self._write(kind, lambda obj=obj: store.delete(
                    kind, version, obj["metadata"].get("namespace"), obj["metadata"]["name"]))
                    for obj in store.list(kind, version, namespace, *selectors)]
                return _json({"apiVersion": kind.api_version(version), "kind": f"{kind.kind}List",
                              "metadata": {"resourceVersion": store.resource_version}, "items": deleted})
        raise errors.ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested "
                                                       f"resource ({request.method})")

    def _write(self, kind: Kind, write: Callable[[], Obj]) -> Obj:
        result = write()
        if kind.key == CRD_KEY:
            self._sync_discovery()
        return result

    async def _watch(self, request: aiohttp.web.BaseRequest, kind: Kind, version: str,
                     namespace: str | None) -> aiohttp.web.StreamResponse:
        """Stream watch events: a snapshot of ADDED events when no resourceVersion is given,
        otherwise exactly the logged events after it (410 Gone when the log no longer reaches)."""
        self.watches_opened += 1
        query = request.query
        selectors = (label_selector(query.get("labelSelector")), field_selector(query.get("fieldSelector")))
        store = self.store
        since = query.get("resourceVersion") or "0"
        if not since.isdigit():
            raise errors.bad_request(f"invalid resource version: {since!r}")
        events: list[dict[str, Any]] = []
        if since == "0":
            # The snapshot and the position after it are taken in one step: no write falls between.
            events = [{"type": "ADDED", "object": obj} for obj in store.list(kind, version, namespace, *selectors)]
            last_seen = int(store.resource_version)
        else:
            last_seen = int(since)
        if query.get("sendInitialEvents") == "true":
            events.append({"type": "BOOKMARK", "object": {
                "apiVersion": kind.api_version(version), "kind": kind.kind,
                "metadata": {"resourceVersion": str(last_seen),
                             "annotations": {"k8s.io/initial-events-end": "true"}}}})
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        epoch = self._watch_epoch

        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for event in events:
                await _send(response, event)
            while (not self._closing and epoch == self._watch_epoch
                   and (deadline is None or loop.time() < deadline)):
                written = self._written
                start, reachable = store.events_since(last_seen)
                if not reachable:
                    self.watches_expired += 1
                    await _send(response, {"type": "ERROR", "object": errors.ApiError(
                        410, "Expired", f"too old resource version: {last_seen} ({store.resource_version})").status()})
                    break
                for event in store.events[start:]:
                    last_seen = event.resource_version
                    if _concerns(event, kind, namespace) and all(select(event.object) for select in selectors):
                        await _send(response, {"type": event.type,
                                               "object": event.object | {"apiVersion": kind.api_version(version)}})
                if request.transport is None or request.transport.is_closing():
                    break
                wait = _IDLE_CHECK_SECONDS if deadline is None else min(_IDLE_CHECK_SECONDS, deadline - loop.time())
                try:
                    await asyncio.wait_for(written.wait(), max(wait, 0))
                except TimeoutError:
                    pass
            await response.write_eof()
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass  # the watcher went away
        return response


def _concerns(event: WatchEvent, kind: Kind, namespace: str | None) -> bool:
    return event.kind == kind.key and (namespace is None or event.namespace == namespace)


async def _send(response: aiohttp.web.StreamResponse, event: dict[str, Any]) -> None:
    await response.write(json.dumps(event).encode() + b"\n")


async def _body(request: aiohttp.web.BaseRequest) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError as error:
        raise errors.bad_request(f"the request body is not valid JSON: {error}") from error


def _patcher(kind: Kind, content_type: str, patch: Any) -> Callable[[Obj], Obj]:
    if content_type == "application/json-patch+json":
        return lambda obj: json_patch(obj, patch)
    # Strategic merge patches exist for built-in kinds only; for ours a merge patch does the same.
    if content_type == "application/merge-patch+json" or (
            content_type == "application/strategic-merge-patch+json" and not kind.custom):
        if not isinstance(patch, dict):
            raise errors.bad_request("a merge patch must be a JSON object")
        return lambda obj: merge_patch(obj, patch)
    raise errors.unsupported_media_type(content_type)


def _json(payload: Obj, status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.json_response(payload, status=status)


class EmulatorServer:
    """The emulator on 127.0.0.1 and a free port, served from its own thread and event loop, so
    that synchronous test code and an operator in the test's event loop can both call it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, max_events: int = 100_000) -> None:
        """``max_events``: how many watch events to keep for resuming watches (older: 410 Gone)."""
        self._host, self._port, self._max_events = host, port, max_events
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self.emulator: KubeEmulator | None = None
        self.url = ""

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._run, name="kube-emulator", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise RuntimeError("the Kubernetes API emulator did not start") from self._failure
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to start() instead of dying silently in the thread
            self._failure = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self.emulator = KubeEmulator(store=Store(max_events=self._max_events))
        async with self.emulator, kmock.Server(self.emulator, host=self._host, port=self._port) as server:
            self.url = f"http://{server.host}:{server.port}"
            self._ready.set()
            await self._stopping.wait()
            self.emulator.end_watches()

    @property
    def watches_opened(self) -> int:
        """Watch requests answered so far."""
        return self.emulator.watches_opened if self.emulator is not None else 0

    @property
    def watches_expired(self) -> int:
        """Watch requests answered 410 Gone so far."""
        return self.emulator.watches_expired if self.emulator is not None else 0

    def drop_watches(self) -> None:
        """End every open watch stream (see KubeEmulator.drop_watches); new ones work."""
        if self._loop is None or self.emulator is None:
            raise RuntimeError("the emulator is not running")
        self._loop.call_soon_threadsafe(self.emulator.drop_watches)

    def expire_watches(self, *writes: Callable[[Store], object]) -> None:
        """Apply ``writes`` to the store, compact its event log and end every open watch stream,
        in one step of the server's loop: no watcher has seen those writes, and the
        resourceVersions the watchers resume from are too old now, so they get 410 Gone and must
        list again to learn of the writes."""
        if self._loop is None or self.emulator is None:
            raise RuntimeError("the emulator is not running")
        emulator = self.emulator

        async def expire() -> None:
            for write in writes:
                write(emulator.store)
            emulator.store.compact()
            emulator.drop_watches()

        asyncio.run_coroutine_threadsafe(expire(), self._loop).result()

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join()
        self._loop = self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
