"""The Kubernetes API emulation over HTTP: kmock's server, with our discovery and object store.

kmock (``KubernetesScaffold``) serves the HTTP port and the errors of unknown paths. ``/version``,
discovery (legacy and aggregated) and the OpenAPI documents are built from the served kinds
(:mod:`.discovery`, :mod:`.openapi`). Object requests (list, watch, get, create, replace, patch,
apply, delete) go to :class:`~infra_operator.sandbox.kube.store.Store`, which behaves like the API
server (resourceVersion, watch resumption, generation, status subresource, schemas); lists and
gets answer as Tables when the client asks (:mod:`.tables`), as kubectl does.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
from collections.abc import Callable
from typing import Any

import aiohttp.web
import attrs
import kmock
import yaml

from . import discovery, errors, openapi, openapi_proto, tables
from .media import Shape, negotiate
from .patching import json_patch, merge_patch
from .selectors import Predicate, field_selector, label_selector
from .store import Kind, Obj, Store, WatchEvent

APPLY_PATCH = "application/apply-patch+yaml"
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

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        try:
            target = parse_object_path(raw_request.path)
            if target is not None:
                return await self._serve(raw_request, target)
            if raw_request.method == "GET":
                return self._describe_api(raw_request)
        except errors.ApiError as error:
            return aiohttp.web.json_response(error.status(), status=error.code)
        return await super().__call__(raw_request)

    def _describe_api(self, request: aiohttp.web.BaseRequest) -> aiohttp.web.Response:
        """``/``, ``/version``, discovery and the OpenAPI documents."""
        kinds = list(self.store.kinds.values())
        parts = request.path.strip("/").split("/") if request.path.strip("/") else []
        aggregated_shape = ("APIGroupDiscoveryList", "apidiscovery.k8s.io", "v2")
        document: Obj | None = None
        match parts:
            case []:
                document = discovery.root_paths(kinds)
            case ["version"]:
                document = discovery.server_version()
            case ["api" | "apis" as root]:
                if negotiate(request.headers.get("Accept"), [aggregated_shape]):
                    return _json(discovery.aggregated(kinds, core=root == "api"),
                                 content_type=discovery.AGGREGATED_CONTENT_TYPE)
                document = discovery.api_versions() if root == "api" else discovery.api_group_list(kinds)
            case ["api", version]:
                document = discovery.resource_list(kinds, "", version)
            case ["apis", group]:
                document = discovery.api_group(kinds, group)
            case ["apis", group, version]:
                document = discovery.resource_list(kinds, group, version)
            case ["openapi", "v2"]:
                return _openapi_v2(request.headers.get("Accept", ""), openapi.v2_document(kinds))
            case ["openapi", "v3"]:
                document = openapi.v3_index(kinds)
            case ["openapi", "v3", *path]:
                document = openapi.v3_document(kinds, "/".join(path))
        if document is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        return _json(document)

    async def _serve(self, request: aiohttp.web.BaseRequest, target: ObjectPath) -> aiohttp.web.StreamResponse:
        store, query = self.store, request.query
        kind = store.kind(target.group, target.version, target.plural)
        cluster_wide_read = request.method == "GET" and target.name is None
        if (target.namespace is not None and not kind.namespaced) or (
                kind.namespaced and target.namespace is None and not cluster_wide_read):
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        selectors = (label_selector(query.get("labelSelector")),
                     field_selector(query.get("fieldSelector"), kind.key))
        shape = negotiate(request.headers.get("Accept"), (*tables.TABLE_SHAPES, *tables.METADATA_SHAPES))
        # Writers are named by ?fieldManager=, else by their User-Agent's product, as the API server does.
        manager = query.get("fieldManager") or request.headers.get("User-Agent", "").split("/")[0][:128]
        raw_body, writes = b"", contextlib.nullcontext()
        if request.method == "GET" and target.name is None and query.get("watch") in ("true", "1"):
            render: Callable[[Obj], Obj] | None = None
            if shape in tables.TABLE_SHAPES:
                def render(obj: Obj) -> Obj:
                    return tables.table(kind, target.version, [obj], query.get("includeObject"),
                                        store.resource_version)
            elif shape in tables.METADATA_SHAPES:
                render = tables.partial_metadata
            return await self._watch(request, kind, target.version, target.namespace, selectors, render)
        if request.method != "GET":
            raw_body = await request.read()
            writes = _dry_run(store, query.getall("dryRun", []))
        # No await from here on: a write (or a dry run, which restores the store after it) is one step.
        with writes:
            return self._answer(request, target, kind, raw_body, manager, selectors, shape)

    def _answer(self, request: aiohttp.web.BaseRequest, target: ObjectPath, kind: Kind, raw_body: bytes,
                manager: str, selectors: tuple[Predicate, Predicate], shape: Shape | None) -> aiohttp.web.Response:
        """A request that reads or writes objects; ``shape``: the answer's form the client asked
        for (a Table, metadata only), None for the objects themselves."""
        store, query = self.store, request.query
        version, namespace, name = target.version, target.namespace, target.name

        def listed(items: list[Obj]) -> Obj:
            if shape in tables.TABLE_SHAPES:
                return tables.table(kind, version, items, query.get("includeObject"), store.resource_version)
            metadata_only = shape in tables.METADATA_SHAPES
            return {"apiVersion": "meta.k8s.io/v1" if metadata_only else kind.api_version(version),
                    "kind": "PartialObjectMetadataList" if metadata_only else f"{kind.kind}List",
                    "metadata": {"resourceVersion": store.resource_version, "continue": ""},
                    "items": [tables.partial_metadata(item) for item in items] if metadata_only else items}

        def single(obj: Obj) -> Obj:
            if shape in tables.TABLE_SHAPES:
                return tables.table(kind, version, [obj], query.get("includeObject"), store.resource_version)
            return tables.partial_metadata(obj) if shape in tables.METADATA_SHAPES else obj

        match request.method, name:
            case "GET", None:
                return _json(listed(store.list(kind, version, namespace, *selectors)))
            case "GET", str():
                return _json(single(store.get(kind, version, namespace, name)))
            case "POST", None:
                body = _body(raw_body)
                warnings = _unknown_fields(kind, version, body, query.get("fieldValidation"))
                return _json(store.create(kind, version, namespace, body, manager), 201, warnings=warnings)
            case "PUT", str():
                body = _body(raw_body)
                warnings = _unknown_fields(kind, version, body, query.get("fieldValidation"))
                return _json(store.replace(kind, version, namespace, name, body, target.subresource, manager),
                             warnings=warnings)
            case "PATCH", str() if request.content_type == APPLY_PATCH:
                if not query.get("fieldManager"):
                    raise errors.ApiError(422, "Invalid", "PATCH /" + request.path.strip("/") + " is invalid: "
                                          "fieldManager: Required value: is required for apply patch")
                config = _yaml_body(raw_body)
                warnings = _unknown_fields(kind, version, config, query.get("fieldValidation"))
                obj, created = store.apply(kind, version, namespace, name, config, manager,
                                           query.get("force") in ("true", "1"), target.subresource)
                return _json(obj, 201 if created else 200, warnings=warnings)
            case "PATCH", str():
                patch = _body(raw_body)
                warnings = (_unknown_fields(kind, version, patch, query.get("fieldValidation"))
                            if isinstance(patch, dict) else [])
                change = _patcher(kind, request.content_type, patch)
                return _json(store.update(kind, version, namespace, name, change, target.subresource, manager),
                             warnings=warnings)
            case "DELETE", str():
                return _json(store.delete(kind, version, namespace, name))
            case "DELETE", None:
                deleted = [store.delete(kind, version, obj["metadata"].get("namespace"), obj["metadata"]["name"])
                           for obj in store.list(kind, version, namespace, *selectors)]
                return _json({"apiVersion": kind.api_version(version), "kind": f"{kind.kind}List",
                              "metadata": {"resourceVersion": store.resource_version}, "items": deleted})
        raise errors.ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested "
                                                       f"resource ({request.method})")

    async def _watch(self, request: aiohttp.web.BaseRequest, kind: Kind, version: str, namespace: str | None,
                     selectors: tuple[Predicate, Predicate],
                     render: Callable[[Obj], Obj] | None) -> aiohttp.web.StreamResponse:
        """Stream watch events: a snapshot of ADDED events when no resourceVersion is given,
        otherwise exactly the logged events after it (410 Gone when the log no longer reaches).
        ``render``: how to show each object (a Table of it, when the client asked for tables)."""
        render = render or (lambda obj: obj)
        self.watches_opened += 1
        query = request.query
        store = self.store
        since = query.get("resourceVersion") or "0"
        if not since.isdigit():
            raise errors.bad_request(f"invalid resource version: {since!r}")
        events: list[dict[str, Any]] = []
        if since == "0":
            # The snapshot and the position after it are taken in one step: no write falls between.
            events = [{"type": "ADDED", "object": render(obj)}
                      for obj in store.list(kind, version, namespace, *selectors)]
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
                        await _send(response, {"type": event.type, "object": render(
                            event.object | {"apiVersion": kind.api_version(version)})})
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


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as error:
        raise errors.bad_request(f"the request body is not valid JSON: {error}") from error


def _yaml_body(raw: bytes) -> Obj:
    """An apply configuration: YAML (JSON is YAML too), one object."""
    try:
        config = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise errors.bad_request(f"error decoding YAML: {error}") from error
    if not isinstance(config, dict):
        raise errors.bad_request("the apply configuration must be an object")
    return config


def _openapi_v2(accept: str, swagger: Obj) -> aiohttp.web.Response:
    """The Swagger document in the first form the client accepts: protobuf (what kubectl asks
    for) or JSON."""
    for entry in accept.split(",") if accept else ["application/json"]:
        media_type = entry.split(";")[0].strip()
        if media_type in openapi_proto.REQUESTED_TYPES:
            return aiohttp.web.Response(body=openapi_proto.document(swagger),
                                        headers={"Content-Type": openapi_proto.CONTENT_TYPE})
        if media_type in ("application/json", "application/*", "*/*"):
            return _json(swagger)
    raise errors.ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json, "
                                                + ", ".join(openapi_proto.REQUESTED_TYPES))


def _dry_run(store: Store, values: list[str]) -> contextlib.AbstractContextManager[None]:
    """``?dryRun=All``: the write is checked and answered, and leaves nothing behind."""
    if not values:
        return contextlib.nullcontext()
    if values != ["All"]:
        raise errors.bad_request(f'dryRun: Unsupported value: "{values[0]}": supported values: "All"')
    return store.dry_run()


def _unknown_fields(kind: Kind, version: str, body: Any, validation: str | None) -> list[str]:
    """``?fieldValidation=``: Strict refuses fields the schema does not know, Warn (the default)
    answers with a warning for each (they are pruned either way), Ignore says nothing."""
    directive = validation or "Warn"
    if directive not in ("Ignore", "Warn", "Strict"):
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{directive}": supported values: '
                                 '"Ignore", "Strict", "Warn"')
    schema = kind.versions.get(version)
    if directive == "Ignore" or schema is None or not isinstance(body, dict):
        return []
    unknown = [f'unknown field "{path}"' for path in schema.unknown_fields(body)]
    if unknown and directive == "Strict":
        raise errors.bad_request(f'{kind.kind} in version "{version}" cannot be handled as a {kind.kind}: '
                                 f"strict decoding error: {', '.join(unknown)}")
    return unknown


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


def _json(payload: Obj, status: int = 200, content_type: str = "application/json",
          warnings: list[str] | None = None) -> aiohttp.web.Response:
    headers = {"Content-Type": content_type}
    if warnings:  # RFC 7234 warnings, as the API server sends them (kubectl prints "Warning: ...")
        headers["Warning"] = ", ".join(f"299 - {json.dumps(text)}" for text in warnings)
    return aiohttp.web.Response(body=json.dumps(payload).encode(), status=status, headers=headers)


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
