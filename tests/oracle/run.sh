#!/usr/bin/env bash
# Expands the oracle's cases with python-dateutil (pinned, in tests/oracle/.venv) and
# rewrites expansions.json, or with --check fails when the committed file differs.
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
"$venv/bin/python" "$here/expand.py" "$@"
