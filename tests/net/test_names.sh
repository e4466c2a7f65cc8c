#!/usr/bin/env bash
# test_names.sh: IPNS names across many real fog daemons, each in its own network namespace
# (issue 6, "Names with a history"). Root only: otherwise it prints one line saying why and exits
# 77 (skipped).
#
# The swarm is test_swarm.sh's (lib.sh): N (default 30) namespaces on one bridge, one daemon each,
# every one with node 0 alone in its Bootstrap list; the test waits until each has bootstrapped.
# Then:
# 1. Node 1 (the publisher) makes a key (`fog key gen site`), adds a small folder and publishes it
#    as version 1 (`fog name publish -k site --ttl 2s -m v1`): the daemon puts the signed record
#    into the DHT (PUT_VALUE to the 20 closest peers) before the command returns, so the
#    command's wall time is the publish figure.
# 2. Every other node but node 0 (N-2 of them, in parallel batches of FOG_NET_BATCH) resolves the
#    name with `fog name resolve --nocache`: a GET_VALUE lookup through the DHT (quorum 16), which
#    must give version 1's /ipfs path; the time of each resolve is kept.
# 3. Node 1 changes one file and publishes version 2. Once the 2 s TTL of the records the
#    resolvers cached has passed, 10 of them resolve without --nocache (cache expired: the DHT
#    again) and must get version 2. Node N-1, which has none of the blocks (it only resolved),
#    runs `fog log NAME` (both versions, newest first, with their messages: the version nodes
#    come over bitswap) and `fog diff NAME@1 NAME@2` (exactly the changed file).
# 4. Node 1 and 5 other nodes drawn at random (never node 0, the bootstrap node; the seed is
#    printed, FOG_NET_SEED repeats it) are killed with SIGKILL; 10 survivors drawn at random
#    resolve with --nocache and must still get version 2: the record lives on the closest peers,
#    not on the publisher.
# 5. One block of figures: publish time, resolve times (min/median/max), the resolves after the
#    kill. Timings are figures, not pass/fail criteria; any wrong or missing answer fails.
# "N passed, M failed" ends the output.
#
# Env: FOG_BIN, FOG_NET_NODES (>= 16; default 30), FOG_NET_SEED, FOG_NET_BATCH (parallel
# resolves, default 7), FOG_NET_TIMEOUT (seconds per command, default 30), FOG_NET_LOG (daemon
# --log-level, e.g. debug), KEEP=1 keeps the scratch folder (logs of every daemon).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

FOG=${FOG_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/fog}
N=${FOG_NET_NODES:-30}
SEED=${FOG_NET_SEED:-$(( $(od -An -N2 -tu2 /dev/urandom) ))}
BATCH=${FOG_NET_BATCH:-7}
CMD_TIMEOUT=${FOG_NET_TIMEOUT:-30}
TTL=2
N_AFTER=10   # resolves of version 2 once the TTL passed, and after the kill
N_KILL=6     # the publisher and 5 others
net_test_begin 16 names

# shellcheck disable=SC2034 # read by lib.sh
NET_REPOS=$T
repo() { net_repo "$1"; }
fogn() { net_fog "$@"; }
# timed I OUT ARGS...: fog ARGS on node I (at most CMD_TIMEOUT s), stdout in OUT, stderr in
# OUT.err; TIMED_SECS is the command's wall time, measured inside the namespace: `ip netns exec`
# itself (a mount namespace and a fresh /sys for every call) takes 0.04 s alone and 0.2-0.3 s
# when 7 of them start at once, which would swamp the figure. Returns the command's exit status.
timed() {
    local i=$1 out=$2 rc
    shift 2
    rm -f "$out.time"
    # shellcheck disable=SC2016 # expanded by the inner bash
    LC_ALL=C timeout -s KILL "$CMD_TIMEOUT" ip netns exec "$(net_ns "$i")" bash -c \
        's=$EPOCHREALTIME; "$@"; rc=$?; echo "$s $EPOCHREALTIME" >"$0"; exit $rc' "$out.time" \
        "$FOG" --repo "$(repo "$i")" "$@" >"$out" 2>"$out.err"
    rc=$?
    TIMED_SECS=$(awk '{printf "%.2f", $2 - $1}' "$out.time" 2>/dev/null)
    [ -n "$TIMED_SECS" ] || TIMED_SECS=$CMD_TIMEOUT
    return $rc
}
# stats SECS...: "min A median B max C" (2 decimals; the median of an even count is the mean of
# the two middle values).
stats() {
    [ $# -gt 0 ] || { echo "min - median - max -"; return; }
    printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "min %.2f median %.2f max %.2f", v[1], m, v[NR]}'
}

# resolve_all TAG EXPECT OPTS NODES...: the nodes resolve NAME (OPTS: "--nocache" or "-"), BATCH
# at a time in parallel; each answer must be EXPECT. Sets RES_OK (count) and RES_SECS (array of
# the times of the right answers); prints the wrong ones.
resolve_all() {
    local tag=$1 want=$2 opt=$3 i k pids
    shift 3
    local nodes=("$@") extra=()
    [ "$opt" != - ] && extra=("$opt")
    for ((k = 0; k < ${#nodes[@]}; k += BATCH)); do
        pids=()
        for i in "${nodes[@]:k:BATCH}"; do
            (
                timed "$i" "$T/$tag.$i.out" name resolve "${extra[@]}" "$NAME"
                echo $? >"$T/$tag.$i.rc"
                echo "$TIMED_SECS" >"$T/$tag.$i.secs"
            ) 2>/dev/null &
            pids+=($!)
        done
        for i in "${pids[@]}"; do
            wait "$i"
        done
    done
    RES_OK=0
    RES_SECS=()
    for i in "${nodes[@]}"; do
        if [ "$(cat "$T/$tag.$i.rc")" = 0 ] && [ "$(cat "$T/$tag.$i.out")" = "$want" ]; then
            RES_OK=$((RES_OK + 1))
            RES_SECS+=("$(cat "$T/$tag.$i.secs")")
        else
            echo "  node $i ($tag): exit $(cat "$T/$tag.$i.rc") after $(cat "$T/$tag.$i.secs") s:" \
                "$(head -c 200 "$T/$tag.$i.out") $(tail -n 1 "$T/$tag.$i.out.err" | head -c 300)"
        fi
    done
}

# --- Namespaces and daemons -------------------------------------------------------------------
t0=$(net_now)
net_hub_up || abort "hub bridge"
for ((i = 0; i < N; i++)); do
    net_node_add "$i" || abort "namespace of node $i"
done
DOPTS=()
[ -n "${FOG_NET_LOG:-}" ] && DOPTS=(--log-level "$FOG_NET_LOG")
net_fog_swarm "$N" "${DOPTS[@]}" || abort "$N daemons start"
n_boot=0
for ((i = 1; i < N; i++)); do
    if net_fog_booted "$i" >/dev/null; then
        n_boot=$((n_boot + 1))
    else
        echo "  node $i did not bootstrap: $(grep dht: "$(repo "$i").err" | head -c 300)"
    fi
done
t_up=$(net_now)
[ "$n_boot" -eq $((N - 1)) ] &&
    ok "$N daemons in $N namespaces, all bootstrapped from node 0 ($(net_secs "$t0" "$t_up") s)" ||
    abort "$n_boot of $((N - 1)) daemons bootstrapped"

# --- Version 1: publish, and every node resolves through the DHT ------------------------------
mkdir -p "$T/site/img"
echo "<h1>fog site</h1>" >"$T/site/index.html"
echo "about: version one" >"$T/site/about.txt"
echo "logo" >"$T/site/img/logo.txt"
fogn 1 key gen site >"$T/key.out" 2>"$T/key.err" || abort "key gen on node 1: $(cat "$T/key.err")"
NAME=$(cat "$T/key.out")
V1=$(fogn 1 add -r -Q "$T/site" 2>"$T/add.err" | tail -1) && [ -n "$V1" ] ||
    abort "add version 1 on node 1: $(cat "$T/add.err")"
if timed 1 "$T/pub1" name publish -k site --ttl "${TTL}s" -m v1 "/ipfs/$V1" &&
    [ "$(cat "$T/pub1")" = "Published to $NAME: /ipfs/$V1" ]; then
    PUB1=$TIMED_SECS
    ok "node 1 published version 1 to $NAME in $PUB1 s"
else
    abort "publish version 1 on node 1: $(cat "$T/pub1" "$T/pub1.err" | head -c 300)"
fi
grep -q "^warning: no peer took" "$T/pub1.err" && bad "no peer took version 1's record"

RESOLVERS=()
for ((i = 2; i < N; i++)); do RESOLVERS+=("$i"); done
t_r0=$(net_now)
resolve_all r1 "/ipfs/$V1" --nocache "${RESOLVERS[@]}"
t_r1=$(net_now)
R1_OK=$RES_OK
R1_STATS=$(stats "${RES_SECS[@]}")
[ "$R1_OK" -eq "${#RESOLVERS[@]}" ] &&
    ok "${#RESOLVERS[@]} nodes resolved the name to version 1 through the DHT" \
        "($R1_STATS s; $(net_secs "$t_r0" "$t_r1") s in all, $BATCH at a time)" ||
    bad "only $R1_OK of ${#RESOLVERS[@]} nodes resolved the name to version 1"

# --- Version 2: publish, resolve once the TTL passed, log and diff on a node without blocks ----
echo "about: version two" >"$T/site/about.txt"
V2=$(fogn 1 add -r -Q "$T/site" 2>"$T/add.err" | tail -1) && [ -n "$V2" ] && [ "$V2" != "$V1" ] ||
    abort "add version 2 on node 1: $(cat "$T/add.err")"
if timed 1 "$T/pub2" name publish -k site --ttl "${TTL}s" -m v2 "/ipfs/$V2" &&
    [ "$(cat "$T/pub2")" = "Published to $NAME: /ipfs/$V2" ]; then
    PUB2=$TIMED_SECS
    ok "node 1 published version 2 in $PUB2 s"
else
    abort "publish version 2 on node 1: $(cat "$T/pub2" "$T/pub2.err" | head -c 300)"
fi
grep -q "^warning: no peer took" "$T/pub2.err" && bad "no peer took version 2's record"
# Every resolver cached version 1 before this publish began: TTL + a margin from now is past it.
sleep "$TTL.3"
resolve_all r2 "/ipfs/$V2" - "${RESOLVERS[@]:0:N_AFTER}"
R2_OK=$RES_OK
R2_STATS=$(stats "${RES_SECS[@]}")
[ "$R2_OK" -eq "$N_AFTER" ] &&
    ok "$N_AFTER nodes resolved the name to version 2 once the ${TTL} s TTL passed ($R2_STATS s)" ||
    bad "only $R2_OK of $N_AFTER nodes resolved the name to version 2 after the TTL"

L=$((N - 1))
if timed "$L" "$T/log" log "$NAME"; then
    LOG_SECS=$TIMED_SECS
    got=$(awk '{print $1, $4, $NF}' "$T/log" | tr '\n' ' ')
    [ "$got" = "2 /ipfs/$V2 v2 1 /ipfs/$V1 v1 " ] &&
        ok "fog log on node $L (no blocks of its own) lists both versions, newest first" \
            "($LOG_SECS s)" ||
        bad "fog log on node $L: $(head -c 400 "$T/log")"
else
    LOG_SECS=-
    bad "fog log on node $L: exit after $TIMED_SECS s: $(tail -n 2 "$T/log.err" | head -c 300)"
fi
if timed "$L" "$T/diff" diff "$NAME@1" "$NAME@2"; then
    DIFF_SECS=$TIMED_SECS
    [ "$(cat "$T/diff")" = "changed  about.txt" ] &&
        ok "fog diff $NAME@1 $NAME@2 on node $L: changed about.txt ($DIFF_SECS s)" ||
        bad "fog diff on node $L lists: $(head -c 400 "$T/diff")"
else
    DIFF_SECS=-
    bad "fog diff on node $L: exit after $TIMED_SECS s: $(tail -n 2 "$T/diff.err" | head -c 300)"
fi

# --- Churn: the publisher and 5 others die; survivors still resolve version 2 ------------------
RANDOM=$SEED
net_shuffle 2 "$N"
pool=("${NET_SHUFFLED[@]}")
KILL=(1 "${pool[@]:0:N_KILL-1}")
SURV=("${pool[@]:N_KILL-1:N_AFTER}")
echo "  seed $SEED (FOG_NET_SEED=$SEED repeats it): kill ${KILL[*]} (node 1, the publisher," \
    "always; node 0 never); resolvers after the kill: ${SURV[*]}"
for i in "${KILL[@]}"; do
    kill -9 "${NET_DPIDS[i]}" 2>/dev/null
    { wait "${NET_DPIDS[i]}"; } 2>/dev/null
done
ok "killed ${#KILL[@]} daemons with SIGKILL"
resolve_all r3 "/ipfs/$V2" --nocache "${SURV[@]}"
R3_OK=$RES_OK
R3_STATS=$(stats "${RES_SECS[@]}")
[ "$R3_OK" -eq "$N_AFTER" ] &&
    ok "$N_AFTER survivors resolved the name to version 2 through the DHT ($R3_STATS s)" ||
    bad "only $R3_OK of $N_AFTER survivors resolved the name to version 2 after the kill"

dead=0
for ((i = 0; i < N; i++)); do
    case " ${KILL[*]} " in *" $i "*) continue ;; esac
    if ! kill -0 "${NET_DPIDS[i]}" 2>/dev/null; then
        dead=$((dead + 1))
        echo "  daemon $i died: $(tail -c 300 "$(repo "$i").err")"
    fi
done
[ "$dead" -eq 0 ] && ok "all $((N - ${#KILL[@]})) other daemons still running" ||
    bad "$dead daemons died"

# --- Figures ----------------------------------------------------------------------------------
med() { echo "$1" | sed -n 's/.*median \([0-9.-]*\).*/\1/p'; }
echo "names: publish $PUB1 s (v2 $PUB2 s); resolve ($R1_OK/${#RESOLVERS[@]} nodes, --nocache)" \
    "$R1_STATS s; after the TTL $R2_OK/$N_AFTER resolved, median $(med "$R2_STATS") s;" \
    "log $LOG_SECS s, diff $DIFF_SECS s; after ${#KILL[@]} kills: $R3_OK/$N_AFTER resolved," \
    "$R3_STATS s; total $(net_secs "$t0" "$(net_now)") s"
finish
