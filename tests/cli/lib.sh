# lib.sh: helpers for the CLI tests. Each test sources it, gets a fresh temporary folder in $T
# (removed on exit) and counts checks; `finish` prints "N passed, M failed" and sets the exit code.
set -u
FOG=${FOG_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/fog}
T=$(mktemp -d /tmp/fog-cli-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
export FOG_PATH="$T/repo"
PASS=0
FAILS=0

ok() { PASS=$((PASS + 1)); }
bad() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }

# expect_ok DESC CMD...: the command succeeds.
expect_ok() {
  local desc=$1; shift
  if "$@" >"$T/out" 2>"$T/err"; then ok; else bad "$desc (exit $?): $(head -c 400 "$T/err")"; fi
}
# expect_fail DESC PATTERN CMD...: the command fails with one error line matching PATTERN.
expect_fail() {
  local desc=$1 pat=$2; shift 2
  if "$@" >"$T/out" 2>"$T/err"; then
    bad "$desc: succeeded but should fail"
  elif ! grep -qE "$pat" "$T/err"; then
    bad "$desc: error did not match /$pat/: $(head -c 400 "$T/err")"
  else
    ok
  fi
}
# same DESC A B: two strings are equal.
same() { if [ "$2" = "$3" ]; then ok; else bad "$1: \"$2\" != \"$3\""; fi; }

# daemons_cleanup: the EXIT trap of tests that start daemons: SIGTERM to every pid in PIDS, wait
# for them, then remove $T (kept when KEEP is set).
daemons_cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  [ -n "${KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}

# start_daemon REPO [options]: fog daemon ($FOG) on loopback port 0 (listen and API) in the
# background, output in REPO.out/.err; appends its pid to PIDS, sets DPID and waits (up to 30 s:
# ASan builds start slowly) for "daemon is ready".
start_daemon() {
  local repo=$1 loop=/ip4/127.0.0.1/tcp/0; shift
  "$FOG" --repo "$repo" daemon --listen $loop --api $loop "$@" >"$repo.out" 2>"$repo.err" &
  DPID=$!
  PIDS+=("$DPID")
  for _ in $(seq 300); do
    grep -q "^daemon is ready$" "$repo.out" 2>/dev/null && return 0
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  bad "daemon on $repo did not start: $(head -c 400 "$repo.err")"
  return 1
}

finish() {
  echo "$PASS passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}
