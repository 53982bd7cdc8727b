#!/usr/bin/env bash
# Generate the Python SDK from an OpenAPI document and drive a live server with it.
# Usage: clients/python/run.sh BASE_URL SPEC_PATH
# Installs the pinned toolchain into clients/python/.venv (reused while requirements.txt is
# unchanged), generates clients/python/generated/convene_client, imports every generated
# module, then runs scenario.py. Both directories are git-ignored.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 BASE_URL SPEC_PATH" >&2
    exit 2
fi
base_url="$1"
spec="$(realpath "$2")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
gen="$here/generated"
req="$here/requirements.txt"
python="${PYTHON:-python3}"

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]]; then
    echo "==> python: creating $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input --require-virtualenv -r "$req"
    echo "$want" >"$venv/.requirements.sha256"
fi
export PATH="$venv/bin:$PATH"  # the generator runs ruff from PATH

echo "==> python: generating the client from $spec"
rm -rf "$gen"
mkdir -p "$gen"
log="$gen/generate.log"
if ! openapi-python-client generate --path "$spec" --meta none \
    --output-path "$gen/convene_client" >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: openapi-python-client failed" >&2
    exit 1
fi
# The generator has no MessagePack and no text/calendar support and says so once per
# request body that offers them beside a type it supports (JSON; the calendar import's
# application/octet-stream); that is expected. Any other warning (a skipped endpoint, an
# unresolved reference...) fails.
warnings="$(grep -c '^WARNING' "$log" || true)"
unsupported="$(grep -c '^Unsupported content type application/msgpack$\|^Unsupported content type text/calendar$' "$log" || true)"
if [[ "$warnings" != "$unsupported" ]] || grep -q 'will not be generated\|Unable to\|Could not' "$log"; then
    cat "$log" >&2
    echo "error: openapi-python-client warned about more than MessagePack bodies (see above)" >&2
    exit 1
fi

echo "==> python: importing every generated module"
PYTHONPATH="$gen" python - <<'PY'
import importlib, pkgutil, convene_client
names = [m.name for m in pkgutil.walk_packages(convene_client.__path__, "convene_client.")]
for name in names:
    importlib.import_module(name)
print(f"imported {len(names)} modules")
PY

echo "==> python: scenario against $base_url"
PYTHONPATH="$gen" python "$here/scenario.py" "$base_url"
