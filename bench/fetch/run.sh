#!/usr/bin/env bash
# run.sh: the `make bench` fetch benchmark (issue 5). In one run, on loopback, it moves one file
# of FETCH_MIB MiB (default 256) by bitswap between two fog daemons and between two helia 7
# nodes, and measures fog's raw one-stream rate beside them:
#  - fog -> fog: daemon S holds the file (`fog add` into its repository before it starts),
#    daemon C is connected to S (`fog swarm connect`), and `fog cat CID` on C's repository is
#    timed while its output drains through a pipe (as bench/add does: a write to /dev/null would
#    not touch the bytes). C fetches every block from S through bitswap, then the copy is
#    compared with the file (`fog cat CID | cmp`, untimed).
#  - helia -> helia: tests/interop/helia-peer/helia.mjs nodes A (adds the file, untimed) and B
#    (dials A, then `cat CID /dev/null`, timed inside Node from the first want to the last
#    byte, so Node's start-up is not counted: that favours helia).
#  - raw: build/fog-peer bench-dial -> the daemon S's /fog/bench/1.0.0 sink (S runs with
#    --test-protocols): one stream of the same size over TCP + Noise + yamux, fog's ceiling.
#  - peak RSS of both sides of both transfers: VmHWM from /proc/PID/status at the end, and the
#    largest RssAnon seen by sampling every 0.1 s during the transfer (VmHWM also counts pages
#    of LMDB's file mapping the daemon touched: page cache, shared with the kernel, not memory
#    of the daemon's own; the server reads blocks with pread, so few of them).
# Prints each figure and each target (fog/helia >= 10, fog bitswap / fog raw stream >= 0.5,
# serving side peak RSS <= 64 MiB) with PASS or MISS, and writes them to
# $FOG_BENCH_DIR/fetch-results.txt. Env: FOG_BIN (default build/fog; fog-peer from the same
# folder), FETCH_MIB (default 256; e.g. 16 for a quick run), FOG_BENCH_RUNS (fog rounds, default
# 3, the median counts; helia runs once: its run is the slow one), FOG_BENCH_DIR (default
# build/bench). Exit status: 0 when every figure was measured and every copy was whole (a MISS
# does not fail the run), 1 otherwise.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
. "$ROOT/bench/lib.sh"
BENCH_NAME_WIDTH=48
FOG=${FOG_BIN:-$ROOT/build/fog}
FOG_PEER=$(dirname "$FOG")/fog-peer
W=${FOG_BENCH_DIR:-$ROOT/build/bench}
MIB=${FETCH_MIB:-256}
BYTES=$((MIB * 1048576))
RUNS=${FOG_BENCH_RUNS:-3}
RESULTS=$W/fetch-results.txt
FILE=$W/fetch-${MIB}m.bin
# shellcheck source=../../tests/interop/helia-peer/helia_lib.sh
. "$ROOT/tests/interop/helia-peer/helia_lib.sh"

[ -x "$FOG" ] || die "no fog binary at $FOG (run make build)"
[ -x "$FOG_PEER" ] || die "no fog-peer at $FOG_PEER (run make build)"
[ -x "$HELIA_NODE" ] || die "no Node at $HELIA_NODE (run scripts/deps.sh --test)"
mkdir -p "$W"
HEL_WORK=$(mktemp -d "$W/fetch.XXXXXX")
JSP_WORK=$HEL_WORK
S=$HEL_WORK/s
C=$HEL_WORK/c
s_pid=""
c_pid=""
sampler_pid=""
cleanup() {
    stop_pids "$sampler_pid"
    stop_pids "$c_pid"
    stop_pids "$s_pid"
    helia_stop_all
    rm -rf "$HEL_WORK"
}
trap cleanup EXIT

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN {printf "%.1f", b / 1e6 / (ns / 1e9)}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
status_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1" | tail -n 1; }
# sample_anon OUT PID...: every 0.1 s, the largest RssAnon (KiB) of each PID, one line per PID
# written to OUT when the sampler is stopped (SIGTERM)
sample_anon() {
    local out=$1 p v
    shift
    declare -A peak=()
    trap 'for p in "${!peak[@]}"; do echo "$p ${peak[$p]}"; done >"$out"; exit 0' TERM
    while :; do
        for p in "$@"; do
            v=$(status_kib "$p" RssAnon)
            [ "${v:-0}" -gt "${peak[$p]:-0}" ] && peak[$p]=$v
        done
        sleep 0.1
    done
}
sampler_start() { # OUT PID...
    sample_anon "$@" &
    sampler_pid=$!
}
sampler_stop() { # prints nothing; the peaks are in the sampler's OUT file
    kill -TERM "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
}
peak_of() { awk -v p="$2" '$1 == p {print $2}' "$1"; }

# --- the input: AES-128-CTR keystream under a fixed key (the same bytes everywhere) ----------
if [ ! -f "$FILE" ] || [ "$(stat -c %s "$FILE")" != "$BYTES" ]; then
    echo "bench: writing $FILE" >&2
    head -c "$BYTES" /dev/zero |
        openssl enc -aes-128-ctr -nosalt -K 666f672062656e63682066657463680a \
            -iv 00000000000000000000000000000000 >"$FILE.tmp"
    mv "$FILE.tmp" "$FILE"
fi

# --- fog -> fog --------------------------------------------------------------------------------
start_daemon() { # REPO [options]: sets daemon_pid, waits for "daemon is ready"
    local r=$1
    shift
    "$FOG" --repo "$r" daemon --listen /ip4/127.0.0.1/tcp/0 --api /ip4/127.0.0.1/tcp/0 "$@" \
        >"$r.out" 2>"$r.err" &
    daemon_pid=$!
    wait_line "$r.out" "^daemon is ready$" 300 ||
        die "fog daemon on $r not ready in 30 s: $(tail -n 3 "$r.err")"
}
"$FOG" --repo "$S" init >/dev/null || die "fog init failed"
echo "bench: fog add ($MIB MiB) into the serving repository" >&2
CID=$("$FOG" --repo "$S" add -Q "$FILE" | tail -n 1) || die "fog add failed"
start_daemon "$S" --test-protocols
s_pid=$daemon_pid
S_MA=$(listen_addr "$S")
[ -n "$S_MA" ] || die "daemon S printed no loopback listen address"

# one round: a fresh client repository and daemon, connected to S, then the timed fog cat
fog_round() {
    local i=$1 t0 t1
    rm -rf "$C" "$C.out" "$C.err"
    "$FOG" --repo "$C" init >/dev/null || die "fog init (client) failed"
    start_daemon "$C"
    c_pid=$daemon_pid
    "$FOG" --repo "$C" swarm connect "$S_MA" >/dev/null 2>"$HEL_WORK/connect.err" ||
        die "fog swarm connect: $(head -n 1 "$HEL_WORK/connect.err")"
    sampler_start "$HEL_WORK/fog$i.anon" "$s_pid" "$c_pid"
    t0=$(date +%s%N)
    if ! "$FOG" --repo "$C" cat "$CID" 2>"$HEL_WORK/cat.err" | cat >/dev/null; then
        sampler_stop
        die "fog cat through the daemon failed: $(head -n 3 "$HEL_WORK/cat.err")"
    fi
    t1=$(date +%s%N)
    sampler_stop
    { mbps "$BYTES" $((t1 - t0)); echo; } >>"$HEL_WORK/fog.mbps"
    status_kib "$s_pid" VmHWM >>"$HEL_WORK/s.hwm"
    status_kib "$c_pid" VmHWM >>"$HEL_WORK/c.hwm"
    peak_of "$HEL_WORK/fog$i.anon" "$s_pid" >>"$HEL_WORK/s.anon"
    peak_of "$HEL_WORK/fog$i.anon" "$c_pid" >>"$HEL_WORK/c.anon"
    "$FOG" --repo "$C" cat "$CID" 2>/dev/null | cmp -s - "$FILE" ||
        die "round $i: fog's fetched copy differs from the file"
    stop_pids "$c_pid"
    c_pid=""
}
for ((i = 1; i <= RUNS; i++)); do
    echo "bench: round $i of $RUNS: fog -> fog bitswap, $MIB MiB" >&2
    fog_round "$i"
done
echo "bench: fog raw stream (fog-peer bench-dial -> daemon S), $MIB MiB" >&2
for ((i = 1; i <= RUNS; i++)); do
    "$FOG_PEER" bench-dial "$S_MA" --bytes "$BYTES" >"$HEL_WORK/raw.json" 2>"$HEL_WORK/raw.err" ||
        true
    grep -q '"ok":true' "$HEL_WORK/raw.json" ||
        die "fog-peer bench-dial failed: $(cat "$HEL_WORK/raw.json") $(tail -n 2 "$HEL_WORK/raw.err")"
    field "$HEL_WORK/raw.json" MBps >>"$HEL_WORK/raw.mbps"
done
stop_pids "$s_pid"
s_pid=""

# --- helia -> helia ----------------------------------------------------------------------------
echo "bench: helia -> helia bitswap, $MIB MiB" >&2
helia_start A || die "helia node A did not start"
helia_start B || die "helia node B did not start"
helia_cmd A 600 add "$FILE" >"$HEL_WORK/h_add.json" || true
HCID=$(jsq "$HEL_WORK/h_add.json" 'j.cid || ""' || true)
[ -n "$HCID" ] || die "helia add failed: $(cat "$HEL_WORK/h_add.json")"
helia_cmd B 60 dial "$(helia_addr A)" >"$HEL_WORK/h_dial.json" || true
grep -q '"ok":true' "$HEL_WORK/h_dial.json" || die "helia dial failed: $(cat "$HEL_WORK/h_dial.json")"
sampler_start "$HEL_WORK/helia.anon" "${HEL_PID[A]}" "${HEL_PID[B]}"
helia_cmd B 1200 cat "$HCID" /dev/null 1200000 >"$HEL_WORK/h_cat.json" || true
sampler_stop
[ "$(jsq "$HEL_WORK/h_cat.json" "j.ok === true && j.bytes === $BYTES" || true)" = true ] ||
    die "helia cat failed: $(head -c 400 "$HEL_WORK/h_cat.json")"
helia_r=$(jsq "$HEL_WORK/h_cat.json" j.MBps)
a_hwm=$(status_kib "${HEL_PID[A]}" VmHWM)
b_hwm=$(status_kib "${HEL_PID[B]}" VmHWM)
a_anon=$(peak_of "$HEL_WORK/helia.anon" "${HEL_PID[A]}")
b_anon=$(peak_of "$HEL_WORK/helia.anon" "${HEL_PID[B]}")
helia_stop_all

fog_r=$(median <"$HEL_WORK/fog.mbps")
raw_r=$(median <"$HEL_WORK/raw.mbps")
s_hwm=$(sort -g "$HEL_WORK/s.hwm" | tail -n 1)
c_hwm=$(sort -g "$HEL_WORK/c.hwm" | tail -n 1)
s_anon=$(sort -g "$HEL_WORK/s.anon" | tail -n 1)
c_anon=$(sort -g "$HEL_WORK/c.anon" | tail -n 1)
{
    echo "fog fetch benchmark: one file of $MIB MiB by bitswap over loopback"
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, fog: median of $RUNS rounds," \
        "helia: one run, MB = 10^6 bytes"
    echo "fog -> fog: daemon S (file added) -> daemon C (swarm connect), fog cat CID | cat on C"
    echo "helia -> helia: helia.mjs (helia 7.1.15, @helia/bitswap 4.0.19, Node 22), A adds, B cats"
    echo "fog raw: fog-peer bench-dial -> daemon S /fog/bench/1.0.0, one stream, same size"
    echo
    printf '%-48s %10s\n' "figure" "value"
    printf '%-48s %10s MB/s   (rounds: %s)\n' "fog -> fog bitswap" "$fog_r" \
        "$(paste -sd ' ' "$HEL_WORK/fog.mbps")"
    printf '%-48s %10s MB/s\n' "helia -> helia bitswap" "$helia_r"
    printf '%-48s %10s MB/s   (rounds: %s)\n' "fog raw one stream (TCP+Noise+yamux)" "$raw_r" \
        "$(paste -sd ' ' "$HEL_WORK/raw.mbps")"
    printf '%-48s %10s MiB  (peak RssAnon %s MiB)\n' "fog serving daemon peak RSS (VmHWM)" \
        "$(mib "$s_hwm")" "$(mib "$s_anon")"
    printf '%-48s %10s MiB  (peak RssAnon %s MiB)\n' "fog fetching daemon peak RSS (VmHWM)" \
        "$(mib "$c_hwm")" "$(mib "$c_anon")"
    printf '%-48s %10s MiB  (peak RssAnon %s MiB)\n' "helia serving node peak RSS (VmHWM)" \
        "$(mib "$a_hwm")" "$(mib "$a_anon")"
    printf '%-48s %10s MiB  (peak RssAnon %s MiB)\n' "helia fetching node peak RSS (VmHWM)" \
        "$(mib "$b_hwm")" "$(mib "$b_anon")"
    echo
    printf '%-48s %10s  %s\n' "target" "ratio" "need"
    target "fog bitswap / helia bitswap" "$(ratio "$fog_r" "$helia_r")" ">=" 10
    target "fog bitswap / fog raw stream" "$(ratio "$fog_r" "$raw_r")" ">=" 0.5
    target "fog serving peak RSS MiB (VmHWM)" "$(mib "$s_hwm")" "<=" 64
} | tee "$RESULTS"
echo "bench: figures written to $RESULTS" >&2
