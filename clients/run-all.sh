#!/usr/bin/env bash
# Run the generated-SDK scenarios (Python and TypeScript) against a live Convene server.
# Usage: clients/run-all.sh CONVENE_BINARY SPEC_PATH
#
# Starts CONVENE_BINARY on a free loopback port (BIND=127.0.0.1:0; the port is read from its
# `port=NNNN` log line) with a throw-away SQLite database, waits for /healthz, runs
# clients/python/run.sh and clients/typescript/run.sh against it, and always stops the
# server and removes the temporary directory. Exits non-zero when anything fails.
# Time-bounded: SDK_STARTUP_TIMEOUT (default 30 s) for the server, SDK_RUN_TIMEOUT
# (default 600 s) for each language (toolchain install included).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 CONVENE_BINARY SPEC_PATH" >&2
    exit 2
fi
binary="$(realpath "$1")"
spec="$(realpath "$2")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
startup_timeout="${SDK_STARTUP_TIMEOUT:-30}"
run_timeout="${SDK_RUN_TIMEOUT:-600}"

[[ -x "$binary" ]] || { echo "error: $binary is not an executable" >&2; exit 2; }
[[ -f "$spec" ]] || { echo "error: $spec does not exist" >&2; exit 2; }

tmp="$(mktemp -d /tmp/sdk-XXXXXX)"
server_pid=""
child_pid=""

cleanup() {
    local status=$?
    if [[ -n "$child_pid" ]] && kill -0 "$child_pid" 2>/dev/null; then
        # `timeout` passes the signal on to the whole run.sh process group.
        kill -TERM "$child_pid" 2>/dev/null || true
        wait "$child_pid" 2>/dev/null || true
    fi
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -f "$tmp/server.log" ]]; then
        echo "---- server log (last 40 lines) ----" >&2
        tail -n 40 "$tmp/server.log" >&2 || true
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> starting $binary (database in $tmp)"
# A clean environment and a fresh working directory: no stray .env, DATABASE_URL,
# SECRET_KEY or RUST_LOG from the caller changes what is tested.
(
    cd "$tmp"
    exec env -i PATH="$PATH" HOME="$tmp" \
        DATABASE_URL="sqlite://$tmp/convene.db" \
        BIND=127.0.0.1:0 \
        AUTH_RATE_LIMIT_PER_MINUTE=0 \
        BCRYPT_COST=4 \
        RUST_LOG=info \
        "$binary"
) >"$tmp/server.log" 2>&1 &
server_pid=$!

port=""
deadline=$((SECONDS + startup_timeout))
while [[ -z "$port" ]]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "error: the server exited during start-up" >&2
        exit 1
    fi
    if ((SECONDS >= deadline)); then
        echo "error: the server printed no port=NNNN line within ${startup_timeout}s" >&2
        exit 1
    fi
    port="$(grep -o 'port=[0-9]\+' "$tmp/server.log" | head -n 1 | cut -d= -f2 || true)"
    [[ -n "$port" ]] || sleep 0.2
done
base_url="http://127.0.0.1:$port"

healthy() {
    python3 - "$1/healthz" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}
until healthy "$base_url"; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "error: the server exited before /healthz answered" >&2
        exit 1
    fi
    if ((SECONDS >= deadline)); then
        echo "error: $base_url/healthz did not answer 200 within ${startup_timeout}s" >&2
        exit 1
    fi
    sleep 0.2
done
echo "==> server up at $base_url"

passed=0
failed=0
failures=()
for lang in python typescript; do
    echo
    echo "==> $lang SDK scenario"
    # In the background and waited for, so that INT/TERM reach the traps at once.
    timeout --kill-after=10 "$run_timeout" bash "$here/$lang/run.sh" "$base_url" "$spec" &
    child_pid=$!
    if wait "$child_pid"; then
        child_pid=""
        passed=$((passed + 1))
    else
        rc=$?
        child_pid=""
        failed=$((failed + 1))
        if [[ $rc -eq 124 ]]; then
            failures+=("$lang (timed out after ${run_timeout}s)")
        else
            failures+=("$lang (exit $rc)")
        fi
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "error: the server died during the $lang scenario" >&2
        failed=$((failed + 1))
        failures+=("server died")
        break
    fi
done

echo
if ((failed > 0)); then
    echo "SDK scenarios failed: ${failures[*]}" >&2
fi
echo "sdk-scenarios: $passed passed, $failed failed"
((failed == 0))
