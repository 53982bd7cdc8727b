#!/usr/bin/env bash
# OpenAPI conformance: validate the spec, then run Schemathesis (all checks, stateful phase,
# JSON + MessagePack) against a live server on a fresh SQLite database.
#
#   bash conformance/run.sh CONVENE_BINARY SPEC_PATH
#
# Exits non-zero if the spec is invalid, the server does not come up, or Schemathesis reports
# any failure or error. Tools are installed, pinned, into conformance/.venv (git-ignored).
# Environment knobs: PYTHON (default python3), ST_REPORT_DIR (junit + ndjson reports,
# default a temp dir that is kept on failure), ST_EXTRA_ARGS (appended to `schemathesis run`).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 CONVENE_BINARY SPEC_PATH" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binary="$(realpath "$1")"
spec="$(realpath "$2")"
[[ -x "$binary" ]] || { echo "error: $binary is not an executable" >&2; exit 2; }
[[ -f "$spec" ]] || { echo "error: $spec does not exist" >&2; exit 2; }

step() { printf '\n==> %s\n' "$*"; }

# --- tools (pinned) --------------------------------------------------------------------
venv="$here/.venv"
stamp="$venv/.installed"
want="$(cat "$here/requirements.txt" "$here/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    step "installing pinned tools into $venv"
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        -r "$here/requirements.txt" -c "$here/constraints.txt"
    echo "$want" >"$stamp"
fi
"$venv/bin/schemathesis" --version

# --- the spec itself -------------------------------------------------------------------
step "openapi-spec-validator $spec"
validator_out="$(mktemp)"
# On error the validator prints the whole document; keep the message readable.
validator_status=0
"$venv/bin/openapi-spec-validator" --validation-errors all "$spec" >"$validator_out" 2>&1 || validator_status=$?
cut -c1-600 "$validator_out"
rm -f "$validator_out"
if [[ $validator_status -ne 0 ]]; then
    echo "error: $spec is not a valid OpenAPI document" >&2
    exit 1
fi

# --- a live server ---------------------------------------------------------------------
workdir="$(mktemp -d /tmp/convene-st.XXXXXX)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base_url="http://127.0.0.1:$port"
step "starting $binary on $base_url"
DATABASE_URL="sqlite://$workdir/convene.db" \
BIND="127.0.0.1:$port" \
AUTH_RATE_LIMIT_PER_MINUTE=0 \
BCRYPT_COST=4 \
RUST_LOG="${RUST_LOG:-warn}" \
    "$binary" >"$workdir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    if curl -fsS "$base_url/healthz" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "error: the server exited during start-up:" >&2
        cat "$workdir/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS "$base_url/healthz" >/dev/null || { echo "error: $base_url/healthz never answered" >&2; exit 1; }

# --- Schemathesis ----------------------------------------------------------------------
report_dir="${ST_REPORT_DIR:-$(mktemp -d /tmp/convene-st-report.XXXXXX)}"
mkdir -p "$report_dir"
step "schemathesis run (config: $here/schemathesis.toml, reports: $report_dir)"
cd "$here"   # hooks = "./hooks.py" in the config is relative to the working directory
status=0
CONVENE_BASE_URL="$base_url" "$venv/bin/schemathesis" \
    --config-file "$here/schemathesis.toml" \
    run "$spec" \
    --url "$base_url" \
    --report junit,ndjson \
    --report-dir "$report_dir" \
    ${ST_EXTRA_ARGS:-} || status=$?

if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "error: the server died during the run; its log:" >&2
    tail -n 50 "$workdir/server.log" >&2
    status=1
fi
if [[ $status -ne 0 ]]; then
    echo "conformance: FAILED (schemathesis exit $status; reports in $report_dir; server log tail below)" >&2
    grep -E 'ERROR|panicked' "$workdir/server.log" | tail -n 20 >&2 || true
    exit "$status"
fi
echo "conformance: passed"
