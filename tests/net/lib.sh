# shellcheck shell=bash
# lib.sh: network-namespace machinery for the multi-node tests (tests/net) and bench/swarm.
#
# The idea: every fog node gets a network namespace of its own, so it has its own loopback (its
# daemon's API is 127.0.0.1:5001 there, the same port in every namespace) and its own address
# 10.77.H.L on one shared Ethernet segment. The segment is a Linux bridge that lives in a hub
# namespace of its own, and each node's veth pair is created inside the node's namespace with its
# peer end moved straight into the hub: nothing is ever created in the root namespace, so the
# machine's own network is not touched. Names carry a run id (default: the PID of the script) so
# two runs side by side do not clash; `net_cleanup` (the EXIT trap) kills the processes started in
# the namespaces, deletes every namespace (their veths go with them) and the scratch folder.
#
# Use: source it, call `net_require` (exits 77 with one line saying why when this is not root or
# namespaces cannot be made), `net_hub_up`, then `net_node_add I` for each node, and run
# commands in node I with `net_exec I CMD...`. Node I's address is `net_addr I`.
# Env: NET_RUN_ID (default $$), NET_KEEP=1 keeps the scratch folder (namespaces are always
# removed).
set -u

NET_RUN_ID=${NET_RUN_ID:-$$}
NET_PREFIX=fog$NET_RUN_ID
NET_HUB=$NET_PREFIX-hub
NET_NODES=()     # namespace names made by this run (the hub excluded)
NET_HUB_MADE=0
NET_PIDS=()      # processes started with net_spawn

# net_skip REASON: print why and exit 77 (CTest's "skipped").
net_skip() {
    echo "skipped: $*"
    exit 77
}

# net_require: root, the ip tool and working namespaces (probed by making the hub), else exit 77.
net_require() {
    [ "$(id -u)" -eq 0 ] || net_skip "needs root to make network namespaces (uid $(id -u))"
    command -v ip >/dev/null 2>&1 || net_skip "no 'ip' command (Debian package iproute2)"
    ip netns list >/dev/null 2>&1 || net_skip "'ip netns' does not work here"
    local err
    if ! err=$(ip netns add "$NET_HUB" 2>&1); then
        net_skip "cannot make a network namespace: $err"
    fi
    NET_HUB_MADE=1
}

# net_hub_up: the bridge br0 in the hub namespace (made by net_require).
net_hub_up() {
    ip -n "$NET_HUB" link add br0 type bridge &&
        ip -n "$NET_HUB" link set br0 up &&
        ip -n "$NET_HUB" link set lo up
}

net_ns() { echo "$NET_PREFIX-$1"; }
# net_addr I: node I's IPv4 address (10.77.0.1 upwards; 250 nodes per /24, all in one /16).
net_addr() { echo "10.77.$(($1 / 250)).$(($1 % 250 + 1))"; }

# net_node_add I: namespace fog<id>-I with lo up and eth0 (10.77.x.y/16), its peer v<I> on br0.
net_node_add() {
    local ns
    ns=$(net_ns "$1")
    ip netns add "$ns" || return 1
    NET_NODES+=("$ns")
    ip -n "$ns" link add eth0 type veth peer name "v$1" netns "$NET_HUB" &&
        ip -n "$NET_HUB" link set "v$1" master br0 up &&
        ip -n "$ns" addr add "$(net_addr "$1")/16" dev eth0 &&
        ip -n "$ns" link set eth0 up &&
        ip -n "$ns" link set lo up
}

# net_exec I CMD...: CMD inside node I's namespace.
net_exec() {
    local ns
    ns=$(net_ns "$1")
    shift
    ip netns exec "$ns" "$@"
}

# net_spawn I OUT ERR CMD...: CMD in node I's namespace in the background; NET_SPAWNED is CMD's
# own pid (`ip netns exec` execs CMD in place, and it is started here directly, not through a
# function, so no subshell stands in between).
net_spawn() {
    local ns out=$2 err=$3
    ns=$(net_ns "$1")
    shift 3
    ip netns exec "$ns" "$@" >"$out" 2>"$err" &
    NET_SPAWNED=$!
    NET_PIDS+=("$NET_SPAWNED")
}

# net_stop PID...: SIGTERM, up to 5 s to exit, then SIGKILL; reaped quietly.
net_stop() {
    local p i
    for p in "$@"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "$@"; do
        for ((i = 0; i < 50; i++)); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$p" 2>/dev/null || true
        { wait "$p"; } 2>/dev/null || true
    done
}

# net_tcp_open I ADDR PORT: true when a TCP connection from node I to ADDR:PORT succeeds.
net_tcp_open() {
    net_exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

# net_cleanup: stop what net_spawn started (net_stop), SIGKILL anything else still in this run's
# namespaces (only processes this run started can be there), then delete the namespaces.
net_cleanup() {
    local p ns
    net_stop "${NET_PIDS[@]}"
    for ns in "${NET_NODES[@]}" "$NET_HUB"; do
        [ "$ns" = "$NET_HUB" ] && [ "$NET_HUB_MADE" -eq 0 ] && continue
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            kill -9 "$p" 2>/dev/null || true
        done
    done
    for ns in "${NET_NODES[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    [ "$NET_HUB_MADE" -eq 1 ] && ip netns del "$NET_HUB" 2>/dev/null
    NET_NODES=()
    NET_PIDS=()
    NET_HUB_MADE=0
}

# --- fog daemons in the namespaces ----------------------------------------------------------------
# Node I's repository is $NET_REPOS/nI; its daemon listens on /ip4/<addr>/tcp/4001 and serves
# the API on the namespace's own 127.0.0.1:5001. Needs FOG (the binary) and NET_REPOS set.
NET_DPIDS=()

net_repo() { echo "$NET_REPOS/n$1"; }
# net_fog I ARGS...: fog on node I's repository inside node I's namespace (reaches its daemon).
net_fog() {
    local i=$1
    shift
    net_exec "$i" "$FOG" --repo "$(net_repo "$i")" "$@"
}
net_peer_id() { sed -n 's/^ *"PeerID": "\(.*\)",\{0,1\}$/\1/p' "$(net_repo "$1")/config"; }
# net_fog_maddr I: node I's listen address with /p2p/ID (valid once its repository exists).
net_fog_maddr() { echo "/ip4/$(net_addr "$1")/tcp/4001/p2p/$(net_peer_id "$1")"; }

# net_fog_start I [daemon options]: the daemon of node I in the background (NET_DPIDS[I]);
# output in REPO.out / REPO.err.
net_fog_start() {
    local i=$1 r
    shift
    r=$(net_repo "$i")
    net_spawn "$i" "$r.out" "$r.err" "$FOG" --repo "$r" daemon \
        --listen "/ip4/$(net_addr "$i")/tcp/4001" --api /ip4/127.0.0.1/tcp/5001 "$@"
    NET_DPIDS[i]=$NET_SPAWNED
}

# net_fog_ready I: waits up to 60 s for "daemon is ready"; prints the daemon's error otherwise.
net_fog_ready() {
    local r k
    r=$(net_repo "$1")
    for ((k = 0; k < 600; k++)); do
        grep -q "^daemon is ready$" "$r.out" 2>/dev/null && return 0
        kill -0 "${NET_DPIDS[$1]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "  daemon $1 did not start: $(head -c 300 "$r.err")"
    return 1
}

# net_fog_booted I: waits up to 30 s for the DHT bootstrap line; prints the routing table size
# it reports (nothing, and false, when the bootstrap failed or never ended).
net_fog_booted() {
    local r k
    r=$(net_repo "$1")
    for ((k = 0; k < 300; k++)); do
        grep -q "dht: bootstrap" "$r.err" && break
        sleep 0.1
    done
    sed -n 's/.*dht: bootstrapped from [1-9][0-9]* peers, routing table \([1-9][0-9]*\)$/\1/p' \
        "$r.err" | head -1 | grep .
}

# net_fog_swarm N [daemon options]: repositories for nodes 0..N-1, daemon 0 started, every other
# one with node 0 alone in its Bootstrap list, all started at once; true when all are ready.
net_fog_swarm() {
    local n=$1 i ok=0 boot
    shift
    for ((i = 0; i < n; i++)); do
        "$FOG" --repo "$(net_repo "$i")" init >/dev/null || return 1
    done
    net_fog_start 0 "$@"
    net_fog_ready 0 || return 1
    boot=$(net_fog_maddr 0)
    for ((i = 1; i < n; i++)); do
        "$FOG" --repo "$(net_repo "$i")" bootstrap add "$boot" >/dev/null || return 1
        net_fog_start "$i" "$@"
    done
    for ((i = 1; i < n; i++)); do
        net_fog_ready "$i" && ok=$((ok + 1))
    done
    [ "$ok" -eq $((n - 1)) ]
}

# net_fog_stop: stops every daemon of the swarm (SIGTERM, then SIGKILL after 5 s).
net_fog_stop() {
    local live=() p
    for p in "${NET_DPIDS[@]}"; do
        kill -0 "$p" 2>/dev/null && live+=("$p")
    done
    net_stop "${live[@]}"
    NET_DPIDS=()
}

# net_tx_bytes I: bytes sent by node I's eth0 so far (/proc/net/dev of its namespace).
net_tx_bytes() {
    net_exec "$1" cat /proc/net/dev | awk -F'[: ]+' '/eth0:/ {print $11}'
}

# net_leftovers: namespaces of this run still present (empty after net_cleanup).
net_leftovers() {
    ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$NET_PREFIX-" || true
}

# net_now: seconds since the epoch with milliseconds.
net_now() { date +%s.%N | cut -c1-14; }
# net_secs START END: END - START, 2 decimals.
net_secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }

# net_cpu_sample: "busy total" jiffies of all CPUs from /proc/stat (busy = all but idle, iowait).
net_cpu_sample() {
    awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat
}
# net_cpu_load "BUSY0 TOTAL0" "BUSY1 TOTAL1": percentage of all CPUs busy between the samples,
# and the CPU seconds used (the whole machine: /proc/stat is not per namespace).
net_cpu_load() {
    echo "$1 $2 $(getconf CLK_TCK) $(nproc)" | awk '{db = $3 - $1; dt = $4 - $2;
        printf "%.0f%% of %d cores busy, %.1f CPU-seconds", (dt > 0) ? 100 * db / dt : 0, $6,
            db / $5}'
}

# net_shuffle FROM TO: the node numbers FROM..TO-1 in random order (Fisher-Yates over bash's
# RANDOM: seed RANDOM first to repeat a run) into the array NET_SHUFFLED.
net_shuffle() {
    local i j tmp
    NET_SHUFFLED=()
    for ((i = $1; i < $2; i++)); do NET_SHUFFLED+=("$i"); done
    for ((i = ${#NET_SHUFFLED[@]} - 1; i > 0; i--)); do
        j=$((RANDOM % (i + 1)))
        tmp=${NET_SHUFFLED[i]}
        NET_SHUFFLED[i]=${NET_SHUFFLED[j]}
        NET_SHUFFLED[j]=$tmp
    done
}

# --- The test drivers' frame (test_*.sh) --------------------------------------------------------
# net_test_begin MIN_NODES TAG: counters and ok/bad/finish/abort, checks $FOG and $N (at least
# MIN_NODES), net_require, the scratch folder T (fog-net-TAG.XXXXXX) and the EXIT trap that
# cleans up (namespaces, T unless KEEP) and fails the run when a namespace is left behind.
PASS=0
FAILS=0
ok() { PASS=$((PASS + 1)); echo "ok: $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
finish() {
    echo "$PASS passed, $FAILS failed"
    [ "$FAILS" -eq 0 ] && exit 0
    exit 1
}
abort() { bad "$*"; finish; }
net_test_cleanup() {
    net_cleanup
    local left
    left=$(net_leftovers)
    if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
    if [ -n "$left" ]; then
        echo "FAIL: namespaces left behind: $left"
        exit 1
    fi
}
net_test_begin() {
    [ -x "$FOG" ] || { echo "no fog binary at $FOG"; exit 1; }
    [ "$N" -ge "$1" ] || { echo "FOG_NET_NODES must be at least $1"; exit 1; }
    net_require
    T=$(mktemp -d "/tmp/fog-net-$2.XXXXXX")
    trap net_test_cleanup EXIT
    trap 'exit 130' INT TERM
}
