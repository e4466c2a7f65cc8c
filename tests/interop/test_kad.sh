#!/usr/bin/env bash
# test_kad.sh: fog's Kademlia DHT server (/ipfs/kad/1.0.0, src/dht) against js-libp2p's DHT
# client (@libp2p/kad-dht, pinned in tests/interop/js-peer; peer.mjs dht-find). Four fog
# daemons on loopback (temporary repositories, port 0 for swarm and API); daemons 2-4 have
# daemon 1 alone in their Bootstrap list and must log "dht: bootstrapped". Then js-libp2p dials
# daemon 1 only and:
#  (a) identifies it: daemon 1 lists /ipfs/kad/1.0.0, so js's DHT puts it in its routing table;
#  (b) findPeer(daemon 4) (useCache false: always over the network): js sends FIND_NODE to
#      fog's DHT servers and must learn daemon 4 with its real loopback listen address (js
#      keeps private addresses: passthrough mapper); daemon 1's answer names daemon 4;
#  (c) getClosestPeers(daemon 4's peer ID bytes) ends with fog peer IDs only, daemon 4 among
#      them, and every peer that answered is one of the four daemons.
# Every process is stopped on exit. Prints one line per check, then "N passed, M failed".
# Run alone: FOG_BIN=build/fog bash tests/interop/test_kad.sh   (KEEP=1 keeps scratch;
# JS_DEBUG=1 runs js with DEBUG=libp2p:kad-dht* into $work/find.err)
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=js-peer/peer_lib.sh
. "$here/js-peer/peer_lib.sh"
if [ ! -x "$JS_NODE" ]; then
    echo "FAIL setup: $JS_NODE missing; run scripts/deps.sh --test (npm ci in js-peer)" >&2
    exit 1
fi
if [ ! -d "$JS_PEER_DIR/node_modules/@libp2p/kad-dht" ]; then
    echo "FAIL setup: @libp2p/kad-dht missing; run npm ci in tests/interop/js-peer" >&2
    exit 1
fi
if [ "${JS_DEBUG:-0}" = 1 ]; then
    export DEBUG='libp2p:kad-dht*'
fi

PIDS=()
all_stop() {
    stop_pids "${PIDS[@]}"
    PIDS=()
    cleanup
}
trap all_stop EXIT

# start_daemon N: fog daemon on $work/dN, loopback port 0; waits for "daemon is ready".
start_daemon() {
    local r=$work/d$1 loop=/ip4/127.0.0.1/tcp/0
    # started directly: $! must be the daemon itself so that SIGTERM reaches it
    "$FOG" --repo "$r" daemon --listen $loop --api $loop >"$r.out" 2>"$r.err" &
    PIDS+=("$!")
    if wait_line "$r.out" "^daemon is ready$" 300; then
        ok "daemon $1: ready"
        return 0
    fi
    fail "daemon $1: not ready in 30 s: $(tail -n 3 "$r.err" | tr '\n' ' ' | cut -c1-300)"
    return 1
}
abort() {
    summary
    exit 1
}

# --- four daemons, 2-4 bootstrapped from 1 ---------------------------------------------------
for i in 1 2 3 4; do
    if ! "$FOG" --repo "$work/d$i" init >/dev/null 2>"$work/init$i.err"; then
        fail "fog init $i: $(first_line "$work/init$i.err")"
        abort
    fi
    ID[i]=$(peer_id "$work/d$i")
done
start_daemon 1 || abort
ADDR1=$(listen_addr "$work/d1")
if [ -n "$ADDR1" ] && [ "${ADDR1##*/p2p/}" = "${ID[1]}" ]; then
    ok "daemon 1 listens on $ADDR1"
else
    fail "daemon 1 prints a loopback listen address with its peer ID: $(head -c 300 "$work/d1.out")"
    abort
fi
for i in 2 3 4; do
    if ! "$FOG" --repo "$work/d$i" bootstrap add "$ADDR1" >/dev/null 2>"$work/bs$i.err"; then
        fail "bootstrap add on $i: $(first_line "$work/bs$i.err")"
        abort
    fi
    start_daemon "$i" || abort
done
for i in 2 3 4; do
    if wait_line "$work/d$i.err" "dht: bootstrapped from 1 peers, routing table [1-9]" 200; then
        ok "daemon $i: dht bootstrapped from daemon 1"
    else
        fail "daemon $i: no 'dht: bootstrapped' in 20 s: $(head -c 400 "$work/d$i.err")"
    fi
done
ADDR4=$(listen_addr "$work/d4")
ADDR4_NOID=${ADDR4%/p2p/*}
FOG_IDS="['${ID[1]}', '${ID[2]}', '${ID[3]}', '${ID[4]}']"

# --- js-libp2p's DHT client asks daemon 1 for daemon 4 ---------------------------------------
"$JS_NODE" "$JS_PEER_DIR/peer.mjs" dht-find "$ADDR1" "${ID[4]}" --timeout 60000 \
    >"$work/find.json" 2>"$work/find.err" || true
check "js dht-find: one JSON line, no error" "$work/find.json" \
    "L.length === 1 && j.error === undefined && j.remotePeer === '${ID[1]}'"
check "js identify of daemon 1 lists /ipfs/kad/1.0.0" "$work/find.json" \
    "j.identify.peerId === '${ID[1]}' && j.identify.protocols.includes('/ipfs/kad/1.0.0')"
check "js routing table holds daemon 1 (identify + ping)" "$work/find.json" "j.routingTable >= 1"
check "js findPeer(daemon 4) through fog's DHT: found" "$work/find.json" \
    "j.found === true && j.findError === undefined"
check "js findPeer(daemon 4): daemon 4's real loopback address $ADDR4_NOID" "$work/find.json" \
    "j.addrs.map(a => a.replace(/\/p2p\/.*$/, '')).includes('$ADDR4_NOID')"
# names4 FROM: a FIND_NODE answer from FROM's daemon(s) that lists daemon 4 with its address
names4() {
    echo "r => $1.includes(r.from) && r.messageType === 'FIND_NODE' &&
     r.closer.some(p => p.id === '${ID[4]}' &&
                   p.addrs.map(a => a.replace(/\/p2p\/.*$/, '')).includes('$ADDR4_NOID'))"
}
# js's own self-query and table refresh run first (every query waits for the initial
# self-query), so js may already know daemons 2-4 and ask them in parallel with daemon 1
check "js findPeer: a fog daemon's FIND_NODE answer named daemon 4 with its address" \
    "$work/find.json" "j.find.responses.some($(names4 "$FOG_IDS"))"
check "daemon 1's FIND_NODE answer (findPeer or getClosestPeers) named daemon 4 + address" \
    "$work/find.json" \
    "j.find.responses.concat(j.closestQuery.responses).some($(names4 "['${ID[1]}']"))"
# js stops the other paths of a query once one found the peer: those show as AbortError
check "js findPeer: no query error other than js's own abort once found" "$work/find.json" \
    "j.find.errors.every(e => /: AbortError: /.test(e))"
check "js getClosestPeers(daemon 4's ID): fog peer IDs only, daemon 4 among them" \
    "$work/find.json" \
    "j.closestError === undefined && j.closest.length > 0 &&
     j.closest.every(p => $FOG_IDS.includes(p)) && j.closest.includes('${ID[4]}')"
check "js getClosestPeers: every response came from a fog daemon, each closer peer is one" \
    "$work/find.json" \
    "j.closestQuery.responses.length > 0 &&
     j.closestQuery.responses.every(r => $FOG_IDS.includes(r.from) &&
       r.closer.every(p => $FOG_IDS.includes(p.id)))"
check "js getClosestPeers: no query errors" "$work/find.json" "j.closestQuery.errors.length === 0"
check "js dht-find: ok" "$work/find.json" "j.ok === true"
if [ "$failed" -gt 0 ]; then
    echo "js stderr: $(tail -n 20 "$work/find.err" | cut -c1-300)"
fi

# --- the daemons still answer, then stop cleanly ---------------------------------------------
if "$FOG" --repo "$work/d2" dht findpeer "${ID[4]}" >"$work/fp.out" 2>"$work/fp.err" &&
    grep -qx "$ADDR4_NOID" "$work/fp.out"; then
    ok "fog dht findpeer (daemon 2 -> daemon 4) agrees with js"
else
    fail "fog dht findpeer daemon 4 from 2: $(head -c 200 "$work/fp.out")" \
        "$(first_line "$work/fp.err")"
fi
for i in 1 2 3 4; do
    p=${PIDS[i - 1]}
    kill -TERM "$p" 2>/dev/null
    wait "$p"
    rc=$?
    if [ "$rc" = 0 ]; then
        ok "daemon $i exits 0 on SIGTERM"
    else
        fail "daemon $i exit status $rc on SIGTERM: $(tail -n 2 "$work/d$i.err" | tr '\n' ' ')"
    fi
done
PIDS=()
summary
