#!/usr/bin/env bash
# run.sh: the `make bench` swarm benchmark (issue 5, "bench/swarm"). One origin and SWARM_FETCHERS
# (default 20) fetchers, each in its own network namespace on one bridge (tests/net/lib.sh), each
# node's uplink (its eth0 egress) shaped to R Mbit/s, for each R in SWARM_RATES (default
# "100 20"): htb at R with a bfifo of SWARM_QLAT ms at R (default 200 ms, a modem's buffer), or
# with SWARM_QDISC=tbf a tbf of that latency. (tbf with 50 ms dropped 75 % of the origin's
# packets at 20 Mbit/s: veth hands it 64 KiB GSO packets, which it splits into a queue too short
# for 20 TCP flows.) In each topology two runs, one after the other:
#   fog:  a fresh fog daemon per namespace (bootstrapped from the origin), the origin adds a
#         random file of SWARM_BYTES (default 64 MiB; fog add provides it through the
#         daemon), then every fetcher runs
#         `fog cat CID | hash256` (SHA-256) at once;
#   http: python3 -m http.server in the origin's namespace, `curl | hash256` in every fetcher
#         at once (the same bytes).
# Measured per run: the time from the start until the last fetcher is done, the bytes the
# origin's eth0 sent meanwhile (/proc/net/dev in its namespace: payload plus TCP/IP headers) and
# the CPU load of the whole machine (/proc/stat before and after). Printed beside the lower bound
# max(F/u, N*F/(sum of uplinks)) (F file, u one uplink, N fetchers, N+1 uplinks in all) and the two
# ratios with their targets: origin sent <= 1.5 F and last fetcher <= 1.3x the bound, both at once.
# Every copy is checked against the file's SHA-256.
# Root only: otherwise one line says why and the script exits 0 (nothing measured).
# The HTTP run at 20 Mbit/s takes N*F/u (about 9 minutes for 20 x 64 MiB): SWARM_HTTP=0 leaves
# the HTTP runs out; SWARM_BYTES=8388608 makes a quick run.
# The 21 repositories live on /dev/shm when it has room (SWARM_REPOS: another folder).
# Env: FOG_BIN, SWARM_BYTES, SWARM_FETCHERS, SWARM_RATES, SWARM_HTTP (1), SWARM_FOG (1: 0 leaves
# the fog runs out), SWARM_QDISC (htb), SWARM_QLAT (200), SWARM_ADD_FLAGS (words for the
# origin's `fog add`, e.g. "--chunker size-262144"), SWARM_DAEMON_ARGS (words for every daemon,
# e.g. "--log-level debug": each session's ask counts at its end), SWARM_LOWAT (bytes: sets
# net.ipv4.tcp_notsent_lowat in every namespace), SWARM_PERF (a path prefix: a system-wide
# `perf record -g` of each fetch phase), SWARM_TRACE (a path prefix: every node's sent bytes
# twice a second during each fetch phase, read from the hub's side of the veths), SWARM_DIAG (0; 1: each node's peer count and `fog stats
# bw` after a fog run, and the daemons' stderr copied to $FOG_BENCH_DIR/diag), SWARM_TIMEOUT
# (seconds per run, default 1200), FOG_BENCH_DIR (default build/bench: swarm-results.txt and the
# scratch folder).
# Exit status: 0 when every run completed with every copy verified (a MISS of a target does not
# fail the run), 1 otherwise.
set -uo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FOG=${FOG_BIN:-$ROOT/build/fog}
W=${FOG_BENCH_DIR:-$ROOT/build/bench}
F=${SWARM_BYTES:-67108864}
NF=${SWARM_FETCHERS:-20}
RATES=${SWARM_RATES:-100 20}
HTTP=${SWARM_HTTP:-1}
FOGRUN=${SWARM_FOG:-1}
RUN_TIMEOUT=${SWARM_TIMEOUT:-1200}
DIAG=${SWARM_DIAG:-0}
RESULTS=$W/swarm-results.txt
PORT=8080

if [ "$(id -u)" -ne 0 ]; then
    echo "bench/swarm: skipped: needs root to make network namespaces (uid $(id -u))"
    exit 0
fi
# shellcheck source=../../tests/net/lib.sh
. "$ROOT/tests/net/lib.sh"
net_skip() { # lib.sh's exits 77 (a test's skip); a benchmark says why and exits 0
    echo "bench/swarm: skipped: $*"
    exit 0
}
die() {
    echo "bench/swarm: $*" >&2
    exit 1
}
[ -x "$FOG" ] || die "no fog binary at $FOG (run make build)"
command -v tc >/dev/null || net_skip "no 'tc' command (Debian package iproute2)"
command -v curl >/dev/null || die "no curl"
command -v python3 >/dev/null || die "no python3"
mkdir -p "$W"
net_require
S=$(mktemp -d "$W/swarm.XXXXXX")
# The 21 repositories stand for 21 machines' disks: on one shared disk their fdatasyncs would
# measure that disk, so they live on tmpfs when there is room (SWARM_REPOS overrides).
R=${SWARM_REPOS:-}
if [ -z "$R" ]; then
    R=$S
    shm=$(df -k --output=avail /dev/shm 2>/dev/null | tail -1)
    [ -n "$shm" ] && [ "$shm" -gt $((F * (NF + 1) * 3 / 1024)) ] && R=/dev/shm
fi
R=$(mktemp -d "$R/fog-swarm.XXXXXX")
cleanup() {
    net_cleanup
    rm -rf "$S" "$R"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Topology ---------------------------------------------------------------------------------
net_hub_up || die "hub bridge"
for ((i = 0; i <= NF; i++)); do
    net_node_add "$i" || die "namespace of node $i"
done
# shape R: a new qdisc (so its counters start at zero) on every node's eth0 egress; burst 10 ms
# of the rate (at least 32 KiB), a queue of SWARM_QLAT ms.
shape() {
    local burst i q
    burst=$(($1 * 1000000 / 8 / 100))
    [ "$burst" -lt 32768 ] && burst=32768
    q=$(($1 * 1000000 * ${SWARM_QLAT:-200} / 8000))
    for ((i = 0; i <= NF; i++)); do
        net_exec "$i" tc qdisc del dev eth0 root 2>/dev/null
        [ -n "${SWARM_LOWAT:-}" ] &&
            net_exec "$i" sysctl -qw net.ipv4.tcp_notsent_lowat="$SWARM_LOWAT"
        if [ "${SWARM_QDISC:-htb}" = htb ]; then
            net_exec "$i" tc qdisc add dev eth0 root handle 1: htb default 10 r2q 1000 &&
                net_exec "$i" tc class add dev eth0 parent 1: classid 1:10 htb rate "$1mbit" \
                    ceil "$1mbit" burst "$burst" cburst "$burst" &&
                net_exec "$i" tc qdisc add dev eth0 parent 1:10 handle 10: bfifo limit "$q" ||
                die "tc htb on node $i"
        else
            net_exec "$i" tc qdisc add dev eth0 root tbf rate "$1mbit" burst "$burst" \
                latency "${SWARM_QLAT:-200}ms" ||
                die "tc tbf on node $i (is sch_tbf in this kernel?)"
        fi
    done
}

head -c "$F" /dev/urandom >"$S/file" || die "making the file"
# Copies are hashed as they stream in: by openssl (SHA-NI where the CPU has it, about 4x less CPU
# than coreutils' sha256sum, which took a sixth of the machine in a 100 Mbit/s run) if present.
if command -v openssl >/dev/null; then
    hash256() { openssl dgst -sha256 -r | cut -d' ' -f1; }
else
    hash256() { sha256sum | cut -d' ' -f1; }
fi
SUM=$(hash256 <"$S/file")

# fetch_all TAG CMD_TEMPLATE: every fetcher i runs CMD (with @I replaced by i) in its namespace,
# piped to hash256; sets LAST (seconds until the last one ended), GOOD (verified copies),
# SENT (bytes out of the origin's eth0), CPU (load text) and SLOWEST/FASTEST.
fetch_all() {
    local tag=$1 cmd=$2 i pids=() start tx0 tx1 cpu0 cpu1
    tx0=$(net_tx_bytes 0)
    cpu0=$(net_cpu_sample)
    local perfpid=
    if [ -n "${SWARM_PERF:-}" ]; then # a system-wide profile of the fetch phase, for tuning
        perf record -a -g -F 250 -o "$SWARM_PERF.$tag" >/dev/null 2>&1 &
        perfpid=$!
        sleep 1
    fi
    local tracepid=
    if [ -n "${SWARM_TRACE:-}" ]; then # time and every node's tx bytes twice a second (tuning)
        (
            # the hub's side of each node's veth (v0, v1, ...): its rx is the node's tx
            while :; do
                printf '%s ' "$(date +%s.%N)"
                ip netns exec "$NET_HUB" cat /proc/net/dev |
                    awk -F'[: ]+' '/ v[0-9]+:/ {sub(/^v/, "", $2); rx[$2] = $3}
                        END {for (k = 0; k in rx; k++) printf "%s ", rx[k]; print ""}'
                sleep 0.5
            done
        ) >"$SWARM_TRACE.$tag" &
        tracepid=$!
    fi
    start=$(net_now)
    for ((i = 1; i <= NF; i++)); do
        (
            set -o pipefail
            timeout -s KILL "$RUN_TIMEOUT" ip netns exec "$(net_ns "$i")" bash -c "${cmd//@I/$i}" \
                2>"$S/$tag.$i.err" | hash256 >"$S/$tag.$i.sum"
            echo "$? $(net_secs "$start" "$(net_now)")" >"$S/$tag.$i.res"
        ) &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i"
    done
    LAST=$(net_secs "$start" "$(net_now)")
    [ -n "$perfpid" ] && kill -INT "$perfpid" && wait "$perfpid"
    [ -n "$tracepid" ] && kill "$tracepid" && wait "$tracepid" 2>/dev/null
    cpu1=$(net_cpu_sample)
    tx1=$(net_tx_bytes 0)
    SENT=$((tx1 - tx0))
    CPU=$(net_cpu_load "$cpu0" "$cpu1")
    GOOD=0
    for ((i = 1; i <= NF; i++)); do
        read -r rc _ <"$S/$tag.$i.res"
        if [ "$rc" = 0 ] && [ "$(cat "$S/$tag.$i.sum")" = "$SUM" ]; then
            GOOD=$((GOOD + 1))
        else
            echo "  $tag fetcher $i: exit $rc: $(head -c 300 "$S/$tag.$i.err")"
        fi
    done
    FASTEST=$(cat "$S/$tag".*.res | sort -k2 -g | head -1 | cut -d' ' -f2)
}

target() { # NAME VALUE OP LIMIT
    local v
    v=$(awk -v r="$2" -v op="$3" -v l="$4" \
        'BEGIN {print ((op == "<=" && r <= l) || (op == ">=" && r >= l)) ? "PASS" : "MISS"}')
    printf '%-52s %8s  %s %-5s %s\n' "$1" "$2" "$3" "$4" "$v" | tee -a "$RESULTS"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
line() { echo "$*" | tee -a "$RESULTS"; }

# diag_fog: per node, its peer count and `fog stats bw` (SWARM_DIAG=1; for tuning).
diag_fog() {
    local i
    for ((i = 0; i <= NF; i++)); do
        echo "  node $i: $(net_fog "$i" swarm peers 2>/dev/null | wc -l) peers;" \
            "$(net_fog "$i" stats bw 2>/dev/null | tr '\n' ' ' | tr -s ' ')"
    done
    mkdir -p "$W/diag"
    cp "$NET_REPOS"/n*.err "$W/diag/" 2>/dev/null
}

# run_fog R: a fresh swarm, the origin adds (and so provides) the file, every fetcher cats it.
run_fog() {
    NET_REPOS=$R/fog-$1
    mkdir -p "$NET_REPOS"
    # shellcheck disable=SC2086 # SWARM_DAEMON_ARGS: words for every daemon (tuning)
    net_fog_swarm $((NF + 1)) ${SWARM_DAEMON_ARGS:-} || die "the fog swarm did not start"
    for ((i = 1; i <= NF; i++)); do
        net_fog_booted "$i" >/dev/null || echo "  fetcher $i did not bootstrap"
    done
    # shellcheck disable=SC2086 # SWARM_ADD_FLAGS: words
    CID=$(net_fog 0 add -Q ${SWARM_ADD_FLAGS:-} "$S/file" 2>"$S/add.err") ||
        die "fog add: $(cat "$S/add.err")"
    fetch_all "fog-$1" "'$FOG' --repo '$NET_REPOS/n@I' cat $CID"
    [ "$DIAG" = 1 ] && diag_fog
    net_fog_stop
    rm -rf "$NET_REPOS"
}

# run_http R: python3 -m http.server in the origin's namespace, curl in every fetcher.
run_http() {
    local pid k
    mkdir -p "$S/www"
    ln -f "$S/file" "$S/www/file"
    # http.server's own listen backlog (5) would drop most of 20 simultaneous SYNs and cost
    # the clients seconds of SYN retries: the same server with a backlog of 128.
    net_spawn 0 "$S/http.out" "$S/http.err" python3 -c '
import functools, http.server, sys
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])
Server((sys.argv[1], int(sys.argv[2])), handler).serve_forever()
' "$(net_addr 0)" "$PORT" "$S/www"
    pid=$NET_SPAWNED
    for ((k = 0; k < 300; k++)); do
        net_tcp_open 1 "$(net_addr 0)" "$PORT" && break
        sleep 0.1
    done
    net_tcp_open 1 "$(net_addr 0)" "$PORT" ||
        die "the HTTP server did not start: $(cat "$S/http.err")"
    fetch_all "http-$1" "curl -sSf http://$(net_addr 0):$PORT/file"
    net_stop "$pid"
}

report() { # KIND R
    local u_bytes bound
    u_bytes=$(($2 * 1000000 / 8))
    bound=$(awk -v f="$F" -v u="$u_bytes" -v n="$NF" \
        'BEGIN {a = f / u; b = n * f / ((n + 1) * u); printf "%.2f", (a > b) ? a : b}')
    local q='s/^ *Sent [0-9]* bytes \([0-9]*\) pkt (dropped \([0-9]*\).*/\1 packets, \2 dropped/p'
    line "$1 at $2 Mbit/s: $GOOD/$NF copies verified; first done ${FASTEST}s, last ${LAST}s;" \
        "origin sent $SENT bytes; $CPU;" \
        "origin qdisc: $(net_exec 0 tc -s qdisc show dev eth0 | sed -n "$q" | head -1)"
    target "  $1 $2M: origin sent / file" "$(ratio "$SENT" "$F")" "<=" 1.5
    target "  $1 $2M: last fetcher / bound (${bound}s)" "$(ratio "$LAST" "$bound")" "<=" 1.3
    [ "$GOOD" -eq "$NF" ]
}

: >"$RESULTS"
line "bench/swarm: $(date -u +%FT%TZ), fog $("$FOG" --version 2>/dev/null | head -1)," \
    "file $F bytes, 1 origin + $NF fetchers, ${SWARM_QDISC:-htb} on every uplink" \
    "(queue ${SWARM_QLAT:-200} ms), $(nproc) cores"
status=0
for r in $RATES; do
    shape "$r"
    if [ "$FOGRUN" = 1 ]; then
        run_fog "$r"
        report fog "$r" || status=1
    fi
    if [ "$HTTP" = 1 ]; then
        shape "$r"
        run_http "$r"
        report http "$r" || status=1
    fi
done
line "(results in $RESULTS)"
exit $status
