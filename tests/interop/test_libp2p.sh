#!/usr/bin/env bash
# test_libp2p.sh: fog's libp2p stack against js-libp2p 3 (tests/interop/js-peer/peer.mjs:
# @libp2p/tcp, @chainsafe/libp2p-noise, @chainsafe/libp2p-yamux, @libp2p/identify, @libp2p/ping,
# pinned), both directions, over loopback TCP (issue 4, "What must show it"):
#  (a) fog dials js-libp2p and pings: the real daemon (`fog daemon --test-protocols` on a
#      temporary repository, port 0 for swarm and API) runs `fog swarm connect`, `fog swarm
#      peers`, `fog ping -n 5` and `fog id PEER` through its HTTP API; js saw the 5 pings; each
#      side's identify of the other lists its protocols, its listen address with the real port,
#      its agent, and the observed address;
#  (b) js-libp2p dials the daemon and pings 5 times, identifying fog;
#  (c) 50 parallel streams each echoing 1 MiB, both directions: js dials the daemon (fog's echo
#      handler answers), and build/fog-peer dials js (js's echo handler answers); payloads are
#      the js-peer README's xorshift32 streams, checked byte for byte on the dialling side;
#  (d) a dial whose /p2p peer ID is not the listener's is refused, in both directions;
#  (e) the daemon stops on SIGTERM with status 0; every process is stopped on exit.
# Peer IDs come from fixed seeds and are checked against the js-peer README's vector.
# Prints one line per check, then "N passed, M failed"; exit 1 on any failure.
# Run alone: FOG_BIN=build/fog bash tests/interop/test_libp2p.sh   (KEEP=1 keeps scratch;
# JS_DEBUG=1 runs the js peers with DEBUG=libp2p:yamux*,libp2p:noise* into their .err files)
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=js-peer/peer_lib.sh
. "$here/js-peer/peer_lib.sh"
JSP_WORK=$work
FOG_PEER=${FOG_PEER_BIN:-${FOG_BUILD:-$(dirname "$FOG")}/fog-peer}
if [ ! -x "$JS_NODE" ]; then
    echo "FAIL setup: $JS_NODE missing; run scripts/deps.sh --test (npm ci in js-peer)" >&2
    exit 1
fi
if [ ! -x "$FOG_PEER" ]; then
    echo "FAIL setup: $FOG_PEER missing; build first or set FOG_PEER_BIN" >&2
    exit 1
fi
if [ "${JS_DEBUG:-0}" = 1 ]; then
    export DEBUG='libp2p:yamux*,libp2p:noise*,libp2p:identify*,libp2p:ping*'
fi

SEED_JS=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
SEED_B=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100
SEED_C=2020202020202020202020202020202020202020202020202020202020202020
ID_JS_VECTOR=12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB
MIB=1048576
R=$work/repo
daemon_pid=""

daemon_stop() {
    local i
    [ -n "$daemon_pid" ] || return 0
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$daemon_pid" 2>/dev/null; then
        kill -9 "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null
        daemon_pid=""
        return 2
    fi
    wait "$daemon_pid" 2>/dev/null
    local rc=$?
    daemon_pid=""
    return "$rc"
}
all_stop() {
    daemon_stop || true
    js_peer_stop_all
    cleanup
}
trap all_stop EXIT

f() {
    "$FOG" --repo "$R" "$@"
}
js() {
    "$JS_NODE" "$JS_PEER_DIR/peer.mjs" "$@"
}

# --- identities -----------------------------------------------------------------------------
"$FOG_PEER" id --seed $SEED_JS >"$work/id_fog.json" 2>"$work/id_fog.err"
js id --seed $SEED_JS >"$work/id_js.json"
check "id: fog-peer and peer.mjs give the README's peer ID for seed 00..1f" "$work/id_fog.json" \
    "j.peerId === '$ID_JS_VECTOR' && j.peerId === '$(jsq "$work/id_js.json" j.peerId)'"
ID_B=$(js id --seed $SEED_B | jsq /dev/stdin j.peerId)
ID_C=$(js id --seed $SEED_C | jsq /dev/stdin j.peerId)

# --- the js listener and the fog daemon -----------------------------------------------------
if ! f init >/dev/null 2>"$work/init.err"; then
    fail "fog init: $(first_line "$work/init.err")"
    summary
    exit 1
fi
# Started directly, not through f: $! must be the daemon itself, not a subshell, so that
# SIGTERM reaches it.
"$FOG" --repo "$R" daemon --listen /ip4/127.0.0.1/tcp/0 --api /ip4/127.0.0.1/tcp/0 \
    --test-protocols >"$work/daemon.out" 2>"$work/daemon.err" &
daemon_pid=$!
if wait_line "$work/daemon.out" "daemon is ready" 150 && [ -s "$R/api" ]; then
    ok "daemon: ready on port 0, API address in \$REPO/api ($(head -c 60 "$R/api"))"
else
    fail "daemon: not ready in 15 s: $(tail -n 3 "$work/daemon.err" | tr '\n' ' ' | cut -c1-300)"
    summary
    exit 1
fi
# after the daemon: a background child would inherit the js FIFO's write end
if ! js_peer_start J listen --port 0 --seed $SEED_JS; then
    fail "js listener J started"
    summary
    exit 1
fi
JMA=$(js_peer_addr J)
JMA_NOID=${JMA%/p2p/*}
ID_JS=${JMA##*/p2p/}

f id 2>"$work/self.err" | tr -d '\n' >"$work/self.json" # one line for jsq
FOG_ID=$(jsq "$work/self.json" 'j.ID' 2>/dev/null)
FOG_MA_NOID=$(jsq "$work/self.json" \
    "(j.Addresses || []).map(a => a.replace(/\/p2p\/.*$/, ''))
     .find(a => /^\/ip4\/127\.0\.0\.1\/tcp\/[1-9][0-9]*$/.test(a)) || ''" 2>/dev/null)
FOG_MA=$FOG_MA_NOID/p2p/$FOG_ID
check "fog id (self): peer ID and a /ip4/127.0.0.1/tcp/<real port> address" "$work/self.json" \
    "/^12D3KooW/.test(j.ID) && '$FOG_MA_NOID' !== ''"
if ! grep -qF "$FOG_ID" "$work/daemon.out"; then
    fail "daemon: its stdout names its peer ID $FOG_ID"
else
    ok "daemon: its stdout names its peer ID"
fi

# --- (a) fog dials js-libp2p and pings ------------------------------------------------------
if f swarm connect "$JMA" >"$work/connect.out" 2>"$work/connect.err"; then
    ok "fog swarm connect <js addr>"
else
    fail "fog swarm connect <js addr>: $(first_line "$work/connect.err")"
fi
if f swarm peers >"$work/peers.out" 2>"$work/peers.err" && grep -qF "$ID_JS" "$work/peers.out"; then
    ok "fog swarm peers lists the js peer"
else
    fail "fog swarm peers lists $ID_JS: $(head -c 300 "$work/peers.out") $(first_line "$work/peers.err")"
fi
if f ping "$ID_JS" -n 5 >"$work/ping.out" 2>"$work/ping.err"; then
    ok "fog ping <js peer> -n 5"
else
    fail "fog ping <js peer> -n 5: $(first_line "$work/ping.err") $(tail -n 1 "$work/ping.out")"
fi
wait_line "$work/J.out" "\"event\":\"ping\",\"remotePeer\":\"$FOG_ID\"" 20 || true
sleep 0.3
check "js saw fog's 5 ping streams" "$work/J.out" \
    "L.filter(x => x.event === 'ping' && x.remotePeer === '$FOG_ID').length >= 5"
check "js: connection from fog is inbound, noise, yamux" "$work/J.out" \
    "L.some(x => x.event === 'connection' && x.remotePeer === '$FOG_ID' &&
     x.direction === 'inbound' && x.encryption === '/noise' && x.multiplexer === '/yamux/1.0.0')"

f id "$ID_JS" 2>"$work/idjs.err" | tr -d '\n' >"$work/idjs.json"
check "fog id <js peer>: ID, echo + ping + identify protocols" "$work/idjs.json" \
    "j.ID === '$ID_JS' && ['/fog/echo/1.0.0', '/ipfs/ping/1.0.0', '/ipfs/id/1.0.0']
     .every(p => j.Protocols.includes(p))"
check "fog id <js peer>: js's listen address $JMA_NOID" "$work/idjs.json" \
    "j.Addresses.some(a => a === '$JMA_NOID' || a === '$JMA')"
check "fog id <js peer>: agent js-libp2p" "$work/idjs.json" "/^js-libp2p\//.test(j.AgentVersion)"

wait_line "$work/J.out" "\"event\":\"identify\",\"peerId\":\"$FOG_ID\"" 50 || true
IDF="L.find(x => x.event === 'identify' && x.peerId === '$FOG_ID')"
check "js identify of fog: /ipfs/id/1.0.0, /ipfs/ping/1.0.0, /fog/echo/1.0.0" "$work/J.out" \
    "['/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', '/fog/echo/1.0.0'].every(p => $IDF.protocols.includes(p))"
check "js identify of fog: fog's listen address with its real port ($FOG_MA_NOID)" "$work/J.out" \
    "$IDF.listenAddrs.includes('$FOG_MA_NOID')"
check "js identify of fog: agent fog/<version>, protocol ipfs/0.1.0" "$work/J.out" \
    "/^fog\/[0-9]/.test($IDF.agentVersion) && $IDF.protocolVersion === 'ipfs/0.1.0'"
check "js identify of fog: observed addr = js's own listen socket as fog dialled it" "$work/J.out" \
    "['$JMA_NOID', '$JMA'].includes($IDF.observedAddr)"

# --- (b) js-libp2p dials fog and pings ------------------------------------------------------
js dial "$FOG_MA" --ping 5 --seed $SEED_B >"$work/jsdial.json" 2>"$work/jsdial.err"
check "js dials fog: ok, 5 pings answered" "$work/jsdial.json" \
    "j.ok === true && j.ping.ok === 5 && j.remotePeer === '$FOG_ID' &&
     j.encryption === '/noise' && j.multiplexer === '/yamux/1.0.0'"
check "js identify of fog (js dialled): protocols echo, ping, identify" "$work/jsdial.json" \
    "j.identify.peerId === '$FOG_ID' && ['/fog/echo/1.0.0', '/ipfs/ping/1.0.0',
     '/ipfs/id/1.0.0'].every(p => j.identify.protocols.includes(p))"
check "js identify of fog (js dialled): listen addr, agent fog/, observed = js's socket" \
    "$work/jsdial.json" \
    "j.identify.listenAddrs.includes('$FOG_MA_NOID') && /^fog\//.test(j.identify.agentVersion) &&
     /^\/ip4\/127\.0\.0\.1\/tcp\/[1-9][0-9]*(\/p2p\/$ID_B)?\$/.test(j.identify.observedAddr)"

# --- (c) 50 x 1 MiB echo both ways ----------------------------------------------------------
js dial "$FOG_MA" --echo-streams 50 --echo-bytes $MIB --seed $SEED_B \
    >"$work/jsecho.json" 2>"$work/jsecho.err"
check "echo js -> fog daemon: 50 streams x 1 MiB intact" "$work/jsecho.json" \
    "j.ok === true && j.echo.streams === 50 && j.echo.ok === 50 && j.echo.failed === 0"
echo "     js -> fog echo 50 x 1 MiB: $(jsq "$work/jsecho.json" 'j.echo && j.echo.ms') ms"

"$FOG_PEER" dial "$JMA" --echo-streams 50 --echo-bytes $MIB --seed $SEED_C \
    >"$work/fogecho.json" 2>"$work/fogecho.err"
check "echo fog-peer -> js: 50 streams x 1 MiB intact" "$work/fogecho.json" \
    "j.ok === true && j.echo.streams === 50 && j.echo.ok === 50 && j.echo.failed === 0"
check "fog-peer identify of js: peer, echo protocol, listen addr" "$work/fogecho.json" \
    "j.identify.peerId === '$ID_JS' && j.identify.protocols.includes('/fog/echo/1.0.0') &&
     j.identify.listenAddrs.includes('$JMA_NOID')"
wait_line "$work/J.out" "\"event\":\"close\",\"remotePeer\":\"$ID_C\"" 30 || true
check "js echoed 50 x 1048576 bytes to fog-peer" "$work/J.out" \
    "L.filter(x => x.event === 'echo' && x.remotePeer === '$ID_C' && x.bytes === $MIB &&
     x.error === undefined).length === 50"
echo "     fog -> js echo 50 x 1 MiB: $(jsq "$work/fogecho.json" 'j.echo && j.echo.ms') ms"

# --- (d) a wrong /p2p peer ID is refused ----------------------------------------------------
if f swarm connect "$JMA_NOID/p2p/$ID_C" >"$work/wrong1.out" 2>"$work/wrong1.err"; then
    fail "fog swarm connect with the wrong /p2p ID succeeded"
else
    ok "fog swarm connect with the wrong /p2p ID refused: $(first_line "$work/wrong1.err")"
fi
"$FOG_PEER" dial "$JMA_NOID/p2p/$ID_C" --timeout 10000 >"$work/wrong2.json" 2>/dev/null
check "fog-peer dial js with the wrong /p2p ID: FOG_ERR_AUTH" "$work/wrong2.json" \
    "j.ok === false && j.errorName === 'FOG_ERR_AUTH'"
js dial "$FOG_MA_NOID/p2p/$ID_C" --ping 1 --timeout 10000 >"$work/wrong3.json" 2>/dev/null
check "js dial fog with the wrong /p2p ID: refused" "$work/wrong3.json" \
    "j.ok === false && typeof j.error === 'string'"
js dial "$FOG_MA" --ping 1 --seed $SEED_B >"$work/after.json" 2>/dev/null
check "the daemon still serves after the refused dials" "$work/after.json" "j.ok === true"

# --- (e) clean shutdown ---------------------------------------------------------------------
daemon_stop
rc=$?
if [ "$rc" = 0 ]; then
    ok "daemon: SIGTERM -> clean shutdown (exit $rc)"
else
    fail "daemon: SIGTERM -> exit $rc (2: killed after 10 s); $(tail -n 2 "$work/daemon.err" | tr '\n' ' ')"
fi
js_peer_stop J
check "js listener stopped on stdin close" "$work/J.out" "j.event === 'stopping'"
summary
