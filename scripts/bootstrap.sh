#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine: a virtualenv with the project and its
# test extras (which include the sandbox's, and kubectl with a current kustomize: Debian's
# kubernetes-client is too old for kustomize components), and Debian's prometheus package
# (prometheus + promtool) when missing, unless BOOTSTRAP_WITHOUT_PROMETHEUS=1 (the sandbox does
# not need it).
# Sourced by scripts/test and scripts/sandbox; safe to run again (it only installs what is missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${INFRA_OPERATOR_VENV:-$root/.venv}"
stamp="$venv/.installed-$(sha1sum "$root/pyproject.toml" | cut -c1-12)"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ]; then
  # pip's own output (progress, build warnings) goes to a log, shown only when a step fails.
  pip_log="$venv/bootstrap-pip.log"
  echo "bootstrap: installing the project and its test extras into $venv (the first time takes minutes; pip's output: $pip_log)" >&2
  : >"$pip_log"
  if ! { "$venv/bin/python" -m pip install --upgrade pip && "$venv/bin/python" -m pip install -e "$root[test]"; } \
      >>"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    echo "bootstrap: pip failed (its output above, also in $pip_log)" >&2
    return 1 2>/dev/null || exit 1
  fi
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi

if [ "${BOOTSTRAP_WITHOUT_PROMETHEUS:-0}" != 1 ] && \
   { ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; }; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian's prometheus package (prometheus, promtool)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    # The package only ships binaries for us; it must not leave a service scraping in the background.
    (systemctl stop prometheus prometheus-node-exporter 2>/dev/null || service prometheus stop 2>/dev/null || true) >/dev/null 2>&1
  else
    echo "bootstrap: prometheus/promtool not found and apt-get is not usable; tests needing them are skipped (failed in CI)" >&2
  fi
fi
export PATH="$venv/bin:$PATH"
