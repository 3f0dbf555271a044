#!/usr/bin/env bash
# The Autobahn|Testsuite fuzzing client against danmaku-echo, the viewers' protocol layer with an
# echo on top. Fails on any case whose behaviour is FAILED or whose close is WRONG CODE or
# UNCLEAN; prints the per-group summary either way.
#
#   Tests/conformance/autobahn.sh .build/release/danmaku-echo [CASES]
#
# CASES is the JSON list's inside (e.g. '"12.*", "13.*"'). By default: every case of groups 1-7,
# and of each compression group (12.1-12.5, 13.1-13.7) the messages up to 4 KiB (cases 1-5) and
# the auto-fragmented ones of 8-32 KiB (11-13). The rest of 12-13 repeats those with larger
# messages (up to 128 KiB, 1,000 each) and takes the suite's Python half an hour.
#
# The suite runs on Python 2.7 (pyenv's, on these machines) and is installed from PyPI into
# $AUTOBAHN_DIR (default .build/autobahn) the first time.
set -euo pipefail
echo_binary=${1:?usage: autobahn.sh PATH/TO/danmaku-echo [CASES]}
default_cases='"1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*"'
for group in 12.1 12.2 12.3 12.4 12.5 13.1 13.2 13.3 13.4 13.5 13.6 13.7; do
    for case in 1 2 3 4 5 11 12 13; do default_cases+=", \"$group.$case\""; done
done
cases=${2:-$default_cases}
here=$(cd "$(dirname "$0")" && pwd)
dir=${AUTOBAHN_DIR:-$(pwd)/.build/autobahn}
mkdir -p "$dir"

python2=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/2.7*/bin/python2.7 2>/dev/null | tail -n 1 || true)
[ -n "$python2" ] || { echo "autobahn.sh: no Python 2.7 (pyenv) to run the suite on" >&2; exit 1; }
if [ ! -f "$dir/lib/bin/wstest" ]; then
    "$python2" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        --target "$dir/lib" autobahntestsuite==0.8.2 2>&1 | grep -v -i "deprecat" || true
    # zope.interface is installed without the namespace package's own __init__.
    echo "__import__('pkg_resources').declare_namespace(__name__)" > "$dir/lib/zope/__init__.py"
fi

output=$(mktemp)
"$echo_binary" --port 0 > "$output" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$output"' EXIT
for _ in $(seq 100); do grep -q "listening" "$output" && break; sleep 0.1; done
port=$(sed -n 's/.*ws:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$output")
[ -n "$port" ] || { echo "autobahn.sh: danmaku-echo did not start" >&2; exit 1; }

rm -rf "$dir/report"
cat > "$dir/fuzzingclient.json" <<JSON
{"outdir": "$dir/report", "servers": [{"agent": "danmaku", "url": "ws://127.0.0.1:$port"}],
 "cases": [$cases], "exclude-cases": [], "exclude-agent-cases": {}}
JSON
(cd "$dir" && PYTHONPATH="$dir/lib" "$python2" -W ignore "$dir/lib/bin/wstest" -m fuzzingclient -s "$dir/fuzzingclient.json") \
    > "$dir/wstest.log" 2>&1 || { tail -n 20 "$dir/wstest.log" >&2; exit 1; }
python3 "$here/autobahn_report.py" "$dir/report/index.json"
