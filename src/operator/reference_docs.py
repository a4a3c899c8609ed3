"""Generated reference documentation: the metrics reference (docs/metrics.md) from the telemetry
catalog plus where the engine records each metric, and the flag tables of docs/configuration.md
from the CLI's argparse parser. `python -m infra_operator.operator.reference_docs [DOCS_DIR]`
rewrites them; a test fails when the committed files differ."""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
from dataclasses import dataclass
from typing import Any, Mapping

from ..telemetry import catalog
from . import cli
from .engine import providers
from .engine.kind import Kind
from .engine.schema import kind_crd
from .kinds import all_kinds

METRICS_FILE = "metrics.md"
KINDS_FILE = "kinds.md"
CONFIGURATION_FILE = "configuration.md"
BEGIN_FLAGS, END_FLAGS = "<!-- BEGIN GENERATED FLAGS -->", "<!-- END GENERATED FLAGS -->"
BEGIN_KINDS, END_KINDS = "<!-- BEGIN GENERATED KINDS -->", "<!-- END GENERATED KINDS -->"


@dataclass(frozen=True)
class RecordedBy:
    """A code path that records a metric: `where` is `module:qualname`, whose source contains
    `call`; `when` says in which situation."""

    where: str
    call: str
    when: str


_ENGINE = "infra_operator.operator.engine.reconciler"
_PROVIDERS = "infra_operator.operator.engine.providers"
_RECONCILE = RecordedBy(f"{_ENGINE}:Reconciler._run", "tel.reconcile(",
                        "every reconcile of a managed kind (kopf create/update/resume handlers and the resync timer)")
_PROVIDER_RECONCILE = RecordedBy(f"{_PROVIDERS}:ProviderReconciler.reconcile", "tel.reconcile(",
                                 "every AWSProvider check (create/update/resume and its check timer)")
_DRIFT = RecordedBy(f"{_ENGINE}:Reconciler._drift_scope", "self.telemetry.drift_check(",
                    "resync and resume reconciles of objects that have an AWS identifier in status")
_FINALIZE = RecordedBy(f"{_ENGINE}:Reconciler.finalize", "tel.finalizer(",
                       "every run of the deletion handler (finalizer) of a managed kind")
_PROVIDER_FINALIZE = RecordedBy(f"{_PROVIDERS}:ProviderReconciler.finalize", "self.telemetry.finalizer(",
                                "every run of an AWSProvider's deletion handler")
_AWS = (RecordedBy("infra_operator.telemetry._aws:AwsApiHooks.register", "events.register(",
                   "botocore's before-call/after-call/after-call-error events, once per logical call"),
        RecordedBy("infra_operator.operator.provider.session:ProviderSession._build_session", "instrument(",
                   "hooks registered on every AWSProvider's boto3 session (all kinds' AWS calls go through it)"))
_AWS_THROTTLES = (RecordedBy("infra_operator.telemetry._aws:AwsApiHooks._response_received", "self._throttles(",
                             "botocore's response-received event: once per throttled attempt, retries included"),
                  _AWS[1])
_RESOURCE_STATE = (RecordedBy(f"{_ENGINE}:Reconciler._run", "tel.resources.set(",
                              "pending before the first reconcile, then ready/notready/error after each"),
                   RecordedBy(f"{_ENGINE}:Reconciler.finalize", "tel.resources.set(", "deleting while the finalizer runs"),
                   RecordedBy(f"{_ENGINE}:Reconciler._forget", "self.telemetry.resources.forget(",
                              "the object is gone: its series disappear"),
                   RecordedBy(f"{_PROVIDERS}:ProviderReconciler.reconcile", "tel.resources.set(",
                              "AWSProviders after each check"))
_QUEUE = (RecordedBy(f"{_ENGINE}:Reconciler._run", "tel.workqueue.enqueue(",
                     "a reconcile reached the engine; done when it converged"),
          RecordedBy(f"{_ENGINE}:Reconciler.finalize", "tel.workqueue.enqueue(", "a finalizer run reached the engine"),
          RecordedBy(f"{_PROVIDERS}:ProviderReconciler.reconcile", "tel.workqueue.enqueue(", "an AWSProvider check"))
_CACHE = (RecordedBy(f"{_ENGINE}:Reconciler._drift_read", "self.telemetry.cache_lookup(",
                     "each drift check's lookup in the describe cache (a hit: a valid snapshot of the "
                     "kind held the resource)"),)

RECORDED_BY: dict[str, tuple[RecordedBy, ...]] = {
    catalog.RECONCILE_TOTAL.name: (_RECONCILE, _PROVIDER_RECONCILE),
    catalog.RECONCILE_DURATION.name: (_RECONCILE, _PROVIDER_RECONCILE),
    catalog.RECONCILE_ERRORS.name: (
        RecordedBy(f"{_ENGINE}:Reconciler._run", "rec.outcome(",
                   "a reconcile failed: the engine error's error_type (see docs/engine.md, Errors)"),
        RecordedBy(f"{_PROVIDERS}:ProviderReconciler.reconcile", 'rec.outcome("error" if permanent else "requeue", '
                   '"provider_failed")', "an AWSProvider check failed (provider_failed)")),
    catalog.RESOURCES.name: _RESOURCE_STATE,
    catalog.RESOURCE_CREATION_TIMESTAMP.name: _RESOURCE_STATE,
    catalog.AWS_API_CALLS.name: _AWS,
    catalog.AWS_API_CALL_DURATION.name: _AWS,
    catalog.AWS_API_ERRORS.name: _AWS,
    catalog.AWS_API_THROTTLES.name: _AWS_THROTTLES,
    catalog.DRIFT_DETECTED.name: (RecordedBy(f"{_ENGINE}:Reconciler._read", "drift.detected(",
                                             "spec and AWS differ on a resync/resume (one per severity), the "
                                             "resource is gone (critical, field `existence`), or another one "
                                             "is tagged as the object's (critical, field `duplicates`)"),),
    catalog.DRIFT_HEALED.name: (RecordedBy(f"{_ENGINE}:_healing", "drift.healed()",
                                           "the drift was written back to AWS, or the duplicates deleted"),),
    catalog.DRIFT_HEALING_FAILURES.name: (RecordedBy(f"{_ENGINE}:_healing", "drift.heal_failed(",
                                                     "writing the drift back, or deleting the duplicates, failed "
                                                     "(drift_healing_failed)"),),
    catalog.DRIFT_DETECTION_DURATION.name: (_DRIFT,),
    catalog.FINALIZER_DURATION.name: (_FINALIZE, _PROVIDER_FINALIZE),
    catalog.FINALIZER_ERRORS.name: (
        RecordedBy(f"{_ENGINE}:Reconciler.finalize", "rec.fail(",
                   "a deletion failed (finalizer_failed) or its provider is not ready (provider_failed)"),
        RecordedBy(f"{_PROVIDERS}:ProviderReconciler.finalize", "rec.fail(",
                   "an AWSProvider still used by other objects (finalizer_failed)")),
    catalog.PROVIDER_READY.name: (RecordedBy(f"{_PROVIDERS}:ProviderReconciler.reconcile", "tel.providers.set_ready(",
                                             "each check: 1 when STS GetCallerIdentity succeeded, else 0"),
                                  RecordedBy(f"{_PROVIDERS}:ProviderReconciler.finalize",
                                             "self.telemetry.providers.forget(", "the AWSProvider is deleted")),
    catalog.PROVIDER_CREDENTIAL_ROTATIONS.name: (
        RecordedBy(f"{_PROVIDERS}:ProviderReconciler.reconcile", "tel.providers.credential_rotated(",
                   "the credentials Secret (or role) of a known AWSProvider changed"),
        RecordedBy("infra_operator.operator.provider.session:ProviderSession._build_session", "self._on_rotation(",
                   "an assumed role's credentials were refreshed")),
    catalog.WORKQUEUE_DEPTH.name: _QUEUE,
    catalog.WORKQUEUE_ADDS.name: _QUEUE,
    catalog.CACHE_HITS.name: _CACHE,
    catalog.CACHE_MISSES.name: _CACHE,
    catalog.LEADER_ELECTION_STATUS.name: (
        RecordedBy("infra_operator.operator.wiring:_run_elected", "telemetry.set_leading(",
                   "0 while standing by, 1 from acquiring the Lease until the term has stopped acting"),),
}

_KINDS = ", ".join(f"`{kind}`" for kind in (providers.KIND, *(k.kind for k in all_kinds())))


def _values(values: object) -> str:
    return ", ".join(f"`{value}`" for value in sorted(values))  # type: ignore[call-overload]


LABEL_VALUES: dict[str, str] = {
    "resource_type": f"the kind: {_KINDS}",
    "result": "reconcile: `success` (converged), `requeue` (a retry is scheduled), `error` (terminal: waits for a "
              "spec change); AWS calls: `success`, `error`",
    "status": ", ".join(f"`{status}`" for status in catalog.STATUSES) + " (every status is reported, zeros "
              "included, once a kind has been seen)",
    "severity": _values(catalog.SEVERITIES) + " (declared per drift-checked field by each kind)",
    "error_type": _values(catalog.ERROR_TYPES),
    "service": _values(set(catalog.SERVICES.values())) + "; other services: botocore's serviceId without spaces",
    "operation": "the AWS operation name, e.g. `AllocateAddress`",
    "error_code": f"the AWS error code of the final attempt, e.g. `InvalidParameterValue`; "
                  f"`{catalog.CONNECTION_ERROR_CODE}` when no response came back; botocore's exception class name "
                  f"for other client-side failures; `{catalog.UNKNOWN_ERROR_CODE}` otherwise",
    "resource_name": "`namespace/name` of the object",
    "provider_name": "`namespace/name` of the AWSProvider",
    "region": "the AWSProvider's `spec.region`",
    "lease": "`namespace/name` of the leader-election Lease (`--lease-namespace`, `--lease-name`)",
}


def metrics_reference() -> str:
    lines = [
        "# Metrics reference",
        "",
        "<!-- Generated by `python -m infra_operator.operator.reference_docs docs` from the catalog "
        "(src/telemetry/catalog.py) and `RECORDED_BY` (src/operator/reference_docs.py); a test fails when stale. -->",
        "",
        f"All {len(catalog.METRICS)} metrics are exposed on `/metrics` (Prometheus text, or OpenMetrics when asked) "
        f"and pushed over OTLP with the same names. The first {len(catalog.CATALOG)} are the original Go operator's, "
        "with its names, label names and buckets; "
        + ", ".join(f"`{spec.name}`" for spec in catalog.ADDITIONS) + " is the operator's own. Series carry no `otel_scope_*` labels, and there is no `target_info` family. A counter or "
        "histogram appears after its first recording; the gauges are computed from the operator's state at "
        "each collection, so they never drift and never go negative.",
        "",
        "Histogram buckets (seconds, every histogram): " + ", ".join(f"`{bound:g}`" for bound in catalog.BUCKETS)
        + ", `+Inf`.",
        "",
        "| metric | type | labels |",
        "| --- | --- | --- |",
        *(f"| [`{spec.name}`](#{spec.name}) | {spec.prometheus_type} | {', '.join(spec.labels)} |"
          for spec in catalog.METRICS),
        "",
        "## Label values",
        "",
        "| label | values |",
        "| --- | --- |",
        *(f"| `{label}` | {values} |" for label, values in LABEL_VALUES.items()),
        "",
        f"Throttling error codes (counted in `{catalog.AWS_API_THROTTLES.name}`): "
        f"{_values(catalog.THROTTLING_CODES)}.",
    ]
    for spec in catalog.METRICS:
        lines += ["", f"## {spec.name}", "", spec.help, "",
                  f"- type: {spec.prometheus_type} (OTel instrument: {spec.instrument.value}"
                  + (f", unit `{spec.unit}`" if spec.unit else "") + ")",
                  f"- labels: {', '.join(f'`{label}`' for label in spec.labels)}"]
        if spec.buckets:
            lines.append("- buckets: the common buckets above (`_bucket`, `_sum`, `_count` series)")
        lines.append("- recorded by:")
        lines += [f"  - `{recorded.where}` ({recorded.when})" for recorded in RECORDED_BY[spec.name]]
    return "\n".join(lines) + "\n"


def _environment_variable(help_text: str) -> tuple[str, str]:
    """(description, variable) from a help text ending in `[INFRA_OPERATOR_X...]`."""
    found = re.search(r"\s*\[(INFRA_OPERATOR_\w+)([^\]]*)\]", help_text)
    if not found:
        return help_text, ""
    return help_text[:found.start()] + help_text[found.end():], f"`{found.group(1)}`{found.group(2)}"


def flag_table(command: argparse.ArgumentParser) -> list[str]:
    lines = ["| flag | default | environment | meaning |", "| --- | --- | --- | --- |"]
    for action in command._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        value = action.metavar or ("{" + ",".join(action.choices) + "}" if action.choices else action.dest.upper())
        flags = ", ".join(f"`{flag}" + (f" {value}`" if action.nargs != 0 else "`") for flag in action.option_strings)
        default = "" if action.default in (None, False) else f"`{action.default}`"
        meaning, variable = _environment_variable(action.help or "")
        lines.append(f"| {flags} | {default} | {variable} | {meaning.replace('|', '/')} |")
    return lines


def flags_reference() -> str:
    """The generated part of docs/configuration.md: one table per subcommand."""
    top = cli.parser(environ={})  # documented defaults, whatever this process's environment says
    commands = next(action for action in top._actions if isinstance(action, argparse._SubParsersAction))
    lines = []
    for name, command in commands.choices.items():
        lines += [f"### `infra-operator {name}`", "", command.description or "", "", *flag_table(command), ""]
    return "\n".join(lines)


def configuration_with_flags(text: str) -> str:
    """docs/configuration.md with its generated section replaced by the current flag tables."""
    begin, end = text.index(BEGIN_FLAGS) + len(BEGIN_FLAGS), text.index(END_FLAGS)
    return text[:begin] + "\n" + flags_reference() + text[end:]


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _schema_type(schema: Mapping[str, Any]) -> str:
    if schema.get("type") == "array":
        return f"list of {_schema_type(schema.get('items') or {})}"
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    return schema.get("type", "object")


def _kind_section(kind: Kind) -> list[str]:
    crd = kind_crd(kind)
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    required = set(spec.get("required", ()))
    lines = [f"## {kind.kind}", "", f"Short names: {', '.join(f'`{n}`' for n in kind.short_names) or 'none'}; "
             f"plural `{kind.plural}`.", "", _cell(kind.description), ""]
    identity = [f"`status.{kind.identifier}`"] + [f"`status.{name}`" for name in kind.identity.fields]
    from_spec = f" (decided by `spec.{kind.identity.from_spec}`)" if kind.identity.from_spec else ""
    deletion = kind.deletion
    lines += [
        f"- **Identifier:** {', '.join(identity)}{from_spec}.",
        f"- **Adoption after a crash:** {kind.adoption.value}.",
        "- **Tags:** " + ("none (the kind carries no tags)." if kind.tagging is None else
                          f"up to {kind.tagging.max_tags} with ours; "
                          + ("applied at create" if kind.tagging.at_create else "applied right after the create")
                          + ("; the whole set is replaced at once." if kind.tagging.replaces_whole_set else ".")),
        f"- **Deletion:** `deletionPolicy` {', '.join(f'`{p}`' for p in ('Delete', 'Retain', *deletion.policies))}"
        f" (default `{deletion.default}`)"
        + "".join(f"; `{p}` leaves the resource in AWS without our tags" for p in deletion.keeping)
        + (f"; `{deletion.force_field}` overrides AWS's safety" if deletion.force_field else "")
        + ("; AWS's deletion protection shows as `DeletionProtected`" if deletion.protected else "") + ".",
    ]
    if kind.secret_inputs:
        lines.append("- **Secrets:** " + ", ".join(f"`{s.field}`" for s in kind.secret_inputs)
                     + " (read from a Kubernetes Secret, never logged or stored).")
    if kind.secret_output is not None:
        lines.append(f"- **Generated secret:** `{kind.secret_output.field}` names the Kubernetes Secret (owned by the "
                     f"object, kept under Retain) that receives the {kind.secret_output.name} AWS gives only at "
                     "create; a Secret that loses it makes the resource be created again.")
    lines += ["", "| spec field | type | required | description |", "|---|---|---|---|"]
    for name, schema in spec["properties"].items():
        lines.append(f"| `{name}` | {_schema_type(schema)} | {'yes' if name in required else ''} | "
                     f"{_cell(schema.get('description', ''))} |")
    if kind.references:
        lines += ["", "| reference | names a | fills |", "|---|---|---|"]
        for ref in kind.references:
            field = f"{ref.field}[]" if ref.many else ref.field
            if ref.within:
                items = "[]" if spec["properties"][ref.within].get("type") == "array" else ""
                where = f"`{ref.within}{items}.{field}`"
            else:
                where = f"`{field}`"
            lines.append(f"| {where} | {ref.kind} | `{ref.id_field}` from its `status."
                         f"{ref.status_field or 'identifier'}` |")
    lines += ["", "| drift-checked | severity | on a difference |", "|---|---|---|"]
    for drift_field in kind.drift_fields:
        action = "updated in place" if drift_field.updatable else "`ReplacementRequired`"
        late = "; AWS's value recorded when the spec leaves it unset" if drift_field.late_init else ""
        lines.append(f"| `{drift_field.name}` | {drift_field.severity.value} | {action}{late} |")
    if kind.tagging is not None:
        lines.append("| `tags` | info | updated in place |")
    return lines + [""]


def kinds_reference() -> str:
    """The generated part of docs/kinds.md: every AWS kind, from its module's declarations."""
    lines = [f"- [{kind.kind}](#{kind.kind.lower()})" for kind in all_kinds()] + [""]
    for kind in all_kinds():
        lines += _kind_section(kind)
    return "\n".join(lines)


def kinds_with_reference(text: str) -> str:
    """docs/kinds.md with its generated section replaced by the current reference."""
    begin, end = text.index(BEGIN_KINDS) + len(BEGIN_KINDS), text.index(END_KINDS)
    return text[:begin] + "\n" + kinds_reference() + text[end:]


def generated(docs: pathlib.Path) -> dict[pathlib.Path, str]:
    """What each generated file under `docs` must contain."""
    configuration = docs / CONFIGURATION_FILE
    kinds = docs / KINDS_FILE
    return {docs / METRICS_FILE: metrics_reference(), kinds: kinds_with_reference(kinds.read_text()),
            configuration: configuration_with_flags(configuration.read_text())}


def main(argv: list[str]) -> int:
    for path, content in generated(pathlib.Path(argv[0] if argv else "docs")).items():
        path.write_text(content)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
