#!/usr/bin/env bash
# The server held to its own API document by a third-party fuzzer: Schemathesis (PyPI) reads
# GET /openapi.json from a live `danmaku serve` and sends what the document allows and what it
# does not, in its coverage, fuzzing and stateful (links: post, then like, then recall) phases.
# Its checks: no 5xx but the documented 503s, every status documented, every content type and
# every JSON answer as documented. Run twice over: in open mode, and with a JWT secret and a
# token of each role (viewer, streamer of one room, moderator, admin). About two minutes in all;
# any failure fails the script, and the node must still be serving at the end of each run.
#
# Usage: Tests/contract/schemathesis.sh .build/debug/danmaku
set -euo pipefail
binary=$(realpath "$1")
cd "$(dirname "$0")/../.."

version=4.32.5
venv=.build/schemathesis
if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version | grep -q "$version"; then
    python3 -m venv "$venv" 2>/dev/null || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        python3 -m venv "$venv"
    }
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

work=$(mktemp -d)
server=
stop_server() {
    if [ -n "$server" ]; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# Starts `danmaku serve` with the flags given on a free port; sets $server and $port.
start_server() {
    "$binary" serve --port 0 --log-level warning "$@" >"$work/banner" 2>"$work/server.log" &
    server=$!
    for _ in $(seq 200); do
        port=$(grep -o 'serving on http://127\.0\.0\.1:[0-9]*' "$work/banner" | grep -o '[0-9]*$' || true)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "schemathesis.sh: the server did not start" >&2
    cat "$work/server.log" >&2
    exit 1
}

failed=0
# One Schemathesis run for `$1` seconds against the server, with the extra arguments given; a
# failure is counted (the other runs still go), a node that stopped serving ends it all.
fuzz() {
    local seconds=$1
    shift
    (cd "$work" && "$OLDPWD/$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --max-time "$seconds" --workers 1 --no-color --request-timeout 10 --generation-database none "$@") || failed=$((failed + 1))
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "schemathesis.sh: the node stopped serving" >&2; exit 1; }
}

echo "== Schemathesis, open mode"
start_server
fuzz 45
stop_server

echo "== Schemathesis, with tokens"
secret=schemathesis-secret-of-32-bytes-or-more
start_server --jwt-secret "$secret"
token() { "$binary" token --secret "$secret" --user "$1" --name "$1" --role "$2" "${@:3}"; }
for role in viewer streamer moderator admin; do
    rooms=()
    # A streamer of one room: every other room it names is refused (403 room_not_allowed).
    [ "$role" = streamer ] && rooms=(--rooms r1)
    echo "-- with a token of role $role"
    fuzz 20 -H "Authorization: Bearer $(token "fuzz-$role" "$role" "${rooms[@]}")"
done
stop_server
if [ "$failed" -gt 0 ]; then
    echo "schemathesis.sh: $failed run(s) found the server off its document" >&2
    exit 1
fi
echo "schemathesis.sh: PASS"
