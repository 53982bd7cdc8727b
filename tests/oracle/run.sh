#!/usr/bin/env bash
# Runs the oracles with their pinned dependencies (tests/oracle/.venv, rebuilt when
# requirements.txt changes): expand.py (rules, python-dateutil) rewrites expansions.json,
# ical.py (calendar files, icalendar + recurring-ical-events) rewrites ical/expansions.json;
# with --check each fails when its committed file differs from a fresh expansion.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
stamp="$venv/.installed"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$here/requirements.txt"
    echo "$want" >"$stamp"
fi
status=0
"$venv/bin/python" "$here/expand.py" "$@" || status=1
"$venv/bin/python" "$here/ical.py" "$@" || status=1
exit "$status"
