#!/usr/bin/env bash
# test_swarm.sh: many real fog daemons, each in its own network namespace on one bridge (issue 5,
# "Multi-node"). Root only: otherwise it prints one line saying why and exits 77 (skipped).
#
# The swarm: N (default 30) namespaces made by lib.sh (a bridge in a hub namespace, one veth and
# one 10.77.x.y address per node, loopback up), one `fog daemon` per namespace listening on its
# own address, port 4001, with its API on the namespace's own 127.0.0.1:5001; every CLI command
# runs through `ip netns exec` and so reaches its own daemon. Every daemon has node 0 alone in its
# Bootstrap list (`fog bootstrap add` before it starts); the test waits until each one has
# bootstrapped, then checks that peers reach each other across namespaces: `fog swarm peers`
# shows connections and `fog dht findpeer` finds a node nobody dialled by hand.
#
# The fetch (FOG_NET_PHASES=all, the default): node 1 adds a file of FOG_NET_BYTES random bytes
# (default 64 MiB) and a second one of FOG_NET_BYTES2 (default 16 MiB), which `fog add` announces
# through the daemon (checked with `fog dht findprovs` on another node); a few survivors-to-be
# ("holders") fetch the second file; then every node but node 1 fetches the first file at once
# (`fog cat` through its daemon into a file), each copy compared by SHA-256 with the original.
# Then 30% of the nodes are killed with SIGKILL: node 1 (the origin) always, node 0 (the
# bootstrap node) and the holders never, the others drawn at random with a printed seed
# (FOG_NET_SEED repeats a run). The survivors that lack the second file fetch it at once; it can
# only come from the holders, and every copy must verify.
# Timings and a per-node table are printed; "N passed, M failed" ends the output.
#
# Env: FOG_BIN, FOG_NET_NODES (>= 4; default 30), FOG_NET_BYTES, FOG_NET_BYTES2, FOG_NET_SEED,
# FOG_NET_PHASES (peers: stop after the peer checks; all), FOG_NET_TIMEOUT (seconds per fetch,
# default 300), KEEP=1 keeps the scratch folder (logs of every daemon).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

FOG=${FOG_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/fog}
N=${FOG_NET_NODES:-30}
BYTES=${FOG_NET_BYTES:-67108864}
BYTES2=${FOG_NET_BYTES2:-16777216}
SEED=${FOG_NET_SEED:-$(( $(od -An -N2 -tu2 /dev/urandom) ))}
PHASES=${FOG_NET_PHASES:-all}
FETCH_TIMEOUT=${FOG_NET_TIMEOUT:-300}
net_test_begin 4 test

# shellcheck disable=SC2034 # read by lib.sh
NET_REPOS=$T
repo() { net_repo "$1"; }
fogn() { net_fog "$@"; }

# --- Namespaces -------------------------------------------------------------------------------
t0=$(net_now)
net_hub_up || abort "hub bridge"
for ((i = 0; i < N; i++)); do
    net_node_add "$i" || abort "namespace of node $i"
done
t_ns=$(net_now)
ok "$N namespaces on bridge br0 in $NET_HUB ($(net_secs "$t0" "$t_ns") s)"

# --- Daemons ----------------------------------------------------------------------------------
net_fog_swarm "$N" || abort "$N daemons start"
t_up=$(net_now)
ok "$N daemons ready ($(net_secs "$t_ns" "$t_up") s)"
IDS=()
for ((i = 0; i < N; i++)); do
    IDS[i]=$(net_peer_id "$i")
done
BOOT=$(net_fog_maddr 0)
grep -qx "listening on $BOOT" "$(repo 0).out" && ok "daemon 0 listens on $BOOT" ||
    bad "daemon 0 listens on its namespace address: $(cat "$(repo 0).out")"

# Bootstrap: each of nodes 1..N-1 logs "dht: bootstrapped from 1 peers, routing table K".
TABLE=()
n_boot=0
for ((i = 1; i < N; i++)); do
    if TABLE[i]=$(net_fog_booted "$i"); then
        n_boot=$((n_boot + 1))
    else
        echo "  node $i did not bootstrap: $(grep dht: "$(repo "$i").err" | head -c 300)"
    fi
done
t_boot=$(net_now)
[ "$n_boot" -eq $((N - 1)) ] &&
    ok "every daemon bootstrapped from node 0 ($(net_secs "$t_up" "$t_boot") s)" ||
    bad "$n_boot of $((N - 1)) daemons bootstrapped"
echo "  routing table sizes after bootstrap: $(printf '%s\n' "${TABLE[@]}" | sort -n | tr '\n' ' ')"

# Connections: every node has peers, and they are namespace addresses, not loopback.
PEERS=()
n_conn=0
for ((i = 0; i < N; i++)); do
    fogn "$i" swarm peers >"$T/peers.$i" 2>"$T/peers.$i.err"
    PEERS[i]=$(grep -c "^/ip4/10\.77\.[0-9]*\.[0-9]*/tcp/[0-9]*/p2p/" "$T/peers.$i")
    [ "${PEERS[i]}" -gt 0 ] && n_conn=$((n_conn + 1))
done
[ "$n_conn" -eq "$N" ] && ok "every node has peers on 10.77/16 (fog swarm peers)" ||
    bad "only $n_conn of $N nodes list peers: node 0 said $(head -c 200 "$T/peers.0.err")"
grep -q "127\.0\.0\.1" "$T"/peers.[0-9]* && bad "a peer is listed at a loopback address" || ok \
    "no peer listed at a loopback address"
echo "  connected peers per node: $(printf '%s\n' "${PEERS[@]}" | sort -n | tr '\n' ' ')"

# Routing: node i finds node (i + N/2) mod N (skipping itself and node 0) through the DHT.
n_found=0
t_f0=$(net_now)
for ((i = 1; i < N; i++)); do
    j=$(((i + N / 2) % N))
    [ "$j" -eq 0 ] && j=$(((j + 1) % N))
    [ "$j" -eq "$i" ] && continue
    if fogn "$i" dht findpeer "${IDS[j]}" >"$T/find.out" 2>"$T/find.err" &&
        grep -qx "/ip4/$(net_addr "$j")/tcp/4001" "$T/find.out"; then
        n_found=$((n_found + 1))
    else
        echo "  node $i: findpeer of node $j: $(head -c 200 "$T/find.out" "$T/find.err")"
    fi
done
t_f1=$(net_now)
[ "$n_found" -eq $((N - 1)) ] &&
    ok "$n_found nodes found another node's address with fog dht findpeer" \
        "($(net_secs "$t_f0" "$t_f1") s)" ||
    bad "only $n_found of $((N - 1)) findpeer lookups found the address"

dead=0
for ((i = 0; i < N; i++)); do
    if ! kill -0 "${NET_DPIDS[i]}" 2>/dev/null; then
        dead=$((dead + 1))
        echo "  daemon $i died: $(tail -c 300 "$(repo "$i").err")"
    fi
done
[ "$dead" -eq 0 ] && ok "all $N daemons still running" || bad "$dead daemons died"
[ "$PHASES" = peers ] && finish

# --- Fetch ------------------------------------------------------------------------------------
# fetch_all FILE_CID SUM TAG NODES...: the nodes fetch at once (fog cat into a file, at most
# FETCH_TIMEOUT s each); per node: $T/TAG.I.rc and .secs; each copy checked and removed.
# Sets FETCH_OK (count) and FETCH_SECS (until the last one ended).
fetch_all() {
    local cid=$1 sum=$2 tag=$3 i s e start
    shift 3
    start=$(net_now)
    local pids=()
    for i in "$@"; do
        (
            s=$(net_now)
            timeout -s KILL "$FETCH_TIMEOUT" ip netns exec "$(net_ns "$i")" "$FOG" \
                --repo "$(repo "$i")" cat "$cid" >"$T/$tag.$i.data" 2>"$T/$tag.$i.err"
            echo $? >"$T/$tag.$i.rc"
            e=$(net_now)
            net_secs "$s" "$e" >"$T/$tag.$i.secs"
        ) 2>/dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i"
    done
    FETCH_SECS=$(net_secs "$start" "$(net_now)")
    FETCH_OK=0
    for i in "$@"; do
        s=$(sha256sum <"$T/$tag.$i.data" | cut -d' ' -f1)
        rm -f "$T/$tag.$i.data"
        if [ "$(cat "$T/$tag.$i.rc")" = 0 ] && [ "$s" = "$sum" ]; then
            FETCH_OK=$((FETCH_OK + 1))
            echo ok >"$T/$tag.$i.res"
        else
            echo "FAIL(rc $(cat "$T/$tag.$i.rc"))" >"$T/$tag.$i.res"
            echo "  node $i $tag: exit $(cat "$T/$tag.$i.rc"):" \
                "$(tail -n 1 "$T/$tag.$i.err" | head -c 300)"
        fi
    done
}

head -c "$BYTES" /dev/urandom >"$T/fileA"
head -c "$BYTES2" /dev/urandom >"$T/fileB"
SUM_A=$(sha256sum <"$T/fileA" | cut -d' ' -f1)
SUM_B=$(sha256sum <"$T/fileB" | cut -d' ' -f1)
CID_A=$(fogn 1 add -Q "$T/fileA" 2>"$T/add.err") || abort "node 1 adds file A: $(cat "$T/add.err")"
CID_B=$(fogn 1 add -Q "$T/fileB" 2>"$T/add.err") || abort "node 1 adds file B: $(cat "$T/add.err")"
ok "node 1 added A ($BYTES bytes, $CID_A) and B ($BYTES2 bytes, $CID_B)"
# `fog add` announces what it adds through the running daemon: another node finds node 1 as a
# provider of A through the DHT.
if fogn $((N - 1)) dht findprovs "$CID_A" >"$T/provs.out" 2>"$T/provs.err" &&
    grep -qx "${IDS[1]}" "$T/provs.out"; then
    ok "node $((N - 1)) finds node 1 as a provider of A (fog dht findprovs)"
else
    bad "node $((N - 1)) finds node 1 as a provider of A: $(head -c 300 "$T/provs.out")" \
        "$(tail -n 1 "$T/provs.err" | head -c 300)"
fi

# Who dies, who holds B: seeded shuffle of nodes 2..N-1.
RANDOM=$SEED
K=$(((3 * N + 9) / 10))
H=$(((N + 9) / 10))
net_shuffle 2 "$N"
pool=("${NET_SHUFFLED[@]}")
KILL=(1 "${pool[@]:0:K-1}")
HOLD=("${pool[@]:K-1:H}")
REST=(0 "${pool[@]:K-1+H}")
echo "  seed $SEED (FOG_NET_SEED=$SEED repeats it): kill ${KILL[*]}" \
    "(node 1 always, node 0 never);" \
    "holders of B ${HOLD[*]}; the rest fetch B after the kill: ${REST[*]}"

fetch_all "$CID_B" "$SUM_B" B "${HOLD[@]}"
[ "$FETCH_OK" -eq "${#HOLD[@]}" ] &&
    ok "${#HOLD[@]} holders fetched B from node 1 ($FETCH_SECS s)" ||
    bad "only $FETCH_OK of ${#HOLD[@]} holders fetched B"

# Information only: whether the holders announced B after fetching it.
fogn 0 dht findprovs "$CID_B" >"$T/provs.out" 2>/dev/null
echo "  providers of B seen from node 0: $(while read -r p; do
    for ((i = 0; i < N; i++)); do [ "${IDS[i]}" = "$p" ] && echo -n "$i "; done
done <"$T/provs.out")"

fetchers=()
for ((i = 0; i < N; i++)); do [ "$i" -ne 1 ] && fetchers+=("$i"); done
cpu0=$(net_cpu_sample)
fetch_all "$CID_A" "$SUM_A" A "${fetchers[@]}"
cpu1=$(net_cpu_sample)
SECS_A=$FETCH_SECS
MBS=$(awk -v b="$BYTES" -v n="${#fetchers[@]}" -v s="$SECS_A" \
    'BEGIN {printf "%.1f", (s > 0) ? b * n / s / 1048576 : 0}')
[ "$FETCH_OK" -eq "${#fetchers[@]}" ] &&
    ok "${#fetchers[@]} nodes fetched A at once, every copy verified ($SECS_A s until the last," \
        "$MBS MiB/s in all; $(net_cpu_load "$cpu0" "$cpu1"))" ||
    bad "only $FETCH_OK of ${#fetchers[@]} nodes fetched a verified copy of A ($SECS_A s;" \
        "$(net_cpu_load "$cpu0" "$cpu1"))"

# Churn: SIGKILL, then the survivors without B fetch it.
for i in "${KILL[@]}"; do
    kill -9 "${NET_DPIDS[i]}" 2>/dev/null
    { wait "${NET_DPIDS[i]}"; } 2>/dev/null
done
ok "killed ${#KILL[@]} of $N daemons with SIGKILL: ${KILL[*]}"
fetch_all "$CID_B" "$SUM_B" C "${REST[@]}"
[ "$FETCH_OK" -eq "${#REST[@]}" ] &&
    ok "${#REST[@]} survivors fetched B from the holders after the kill, every copy verified" \
        "($FETCH_SECS s)" ||
    bad "only $FETCH_OK of ${#REST[@]} survivors fetched a verified copy of B ($FETCH_SECS s)"

# Per-node table.
res() { [ -f "$T/$1.$2.res" ] && echo "$(cat "$T/$1.$2.res") $(cat "$T/$1.$2.secs")s" || echo -; }
printf '  %-5s %-12s %-15s %-18s %-18s %s\n' node address role "A ($BYTES B)" "B before kill" \
    "B after kill"
for ((i = 0; i < N; i++)); do
    role=fetcher
    [ "$i" -eq 0 ] && role=boot
    [ "$i" -eq 1 ] && role=origin
    case " ${HOLD[*]} " in *" $i "*) role=holder ;; esac
    case " ${KILL[*]} " in *" $i "*) role="$role,killed" ;; esac
    printf '  %-5s %-12s %-15s %-18s %-18s %s\n' "$i" "$(net_addr "$i")" "$role" "$(res A "$i")" \
        "$(res B "$i")" "$(res C "$i")"
done
echo "  total $(net_secs "$t0" "$(net_now)") s"
finish
