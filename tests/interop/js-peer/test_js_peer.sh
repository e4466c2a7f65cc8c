#!/usr/bin/env bash
# test_js_peer.sh: self-test of peer.mjs, two js-libp2p processes against each other over
# loopback TCP + Noise + yamux, before any fog daemon exists. Not run by CTest (its name is not
# tests/interop/test_*.sh); run it by hand:  bash tests/interop/js-peer/test_js_peer.sh
# Checks: a seeded identity gives the peer ID derived independently here (node:crypto + a
# hand-written base58 encoder, no libp2p code); the listener announces only 127.0.0.1 and the
# expected protocols; ping; identify seen from both sides (each lists the other's echo
# protocol); 50 parallel echo streams of 1 MiB each come back intact; an unsupported protocol
# is reported as a failure; a BENCH_BYTES (default 256 MiB) bench over one stream between two
# js processes, printing MB/s; closing stdin stops a listener. Prints ok/FAIL lines and
# "N passed, M failed"; exits non-zero on any failure. KEEP=1 keeps the scratch folder.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=peer_lib.sh
. "$here/peer_lib.sh"

if [ ! -x "$JS_NODE" ]; then
    echo "FAIL setup: $JS_NODE missing; run (cd $here && npm ci)" >&2
    exit 1
fi

JSP_WORK=$(mktemp -d "${TMPDIR:-/tmp}/js-peer.XXXXXX")
cleanup() {
    js_peer_stop_all
    if [ "${KEEP:-0}" = 1 ]; then
        echo "scratch kept in $JSP_WORK" >&2
    else
        rm -rf "$JSP_WORK"
    fi
}
trap cleanup EXIT

passed=0
failed=0
ok() {
    echo "ok   $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}

SEED_A=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
SEED_B=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100
BENCH_BYTES=${BENCH_BYTES:-268435456}
W=$JSP_WORK

# Peer ID of an Ed25519 seed, computed without libp2p: the public key from node:crypto, the
# libp2p PublicKey protobuf (KeyType Ed25519 = 1), an identity multihash, base58btc.
expected_id() {
    "$JS_NODE" -e '
const crypto = require("crypto")
const seed = Buffer.from(process.argv[1], "hex")
const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed])
const priv = crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })
const pub = crypto.createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(-32)
const mh = Buffer.concat([Buffer.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]), pub])
const A = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
let n = BigInt("0x" + mh.toString("hex")), s = ""
while (n > 0n) { s = A[Number(n % 58n)] + s; n /= 58n }
for (const b of mh) { if (b !== 0) break; s = "1" + s }
console.log(s)
' "$1"
}

ID_A=$(expected_id $SEED_A)
ID_B=$(expected_id $SEED_B)
"$JS_NODE" "$here/peer.mjs" id --seed $SEED_A >"$W/id.json"
check "id: seed A gives the independently derived peer ID" "$W/id.json" "j.peerId === '$ID_A'"

# --- listener A ---------------------------------------------------------------------------
if ! js_peer_start A listen --port 0 --seed $SEED_A; then
    fail "listen: peer A started"
    echo "$passed passed, $failed failed"
    exit 1
fi
check "listen: peer ID from seed" "$W/A.out" "L[0].peerId === '$ID_A'"
check "listen: only /ip4/127.0.0.1/tcp addrs with /p2p" "$W/A.out" \
    "L[0].addrs.length > 0 &&
     L[0].addrs.every(a => /^\/ip4\/127\.0\.0\.1\/tcp\/[1-9][0-9]*\/p2p\/$ID_A\$/.test(a))"
check "listen: protocols echo, bench, ping, identify, identify push" "$W/A.out" \
    "['/fog/echo/1.0.0', '/fog/bench/1.0.0', '/ipfs/ping/1.0.0', '/ipfs/id/1.0.0',
      '/ipfs/id/push/1.0.0'].every(p => L[0].protocols.includes(p))"
MA=$(js_peer_addr A)
MA_NOID=${MA%/p2p/*}

# --- B dials A: ping + identify -------------------------------------------------------------
"$JS_NODE" "$here/peer.mjs" dial "$MA" --ping 5 --seed $SEED_B >"$W/ping.json" 2>"$W/ping.err"
check "dial+ping: ok, 5 rtts" "$W/ping.json" \
    "j.ok === true && j.ping.ok === 5 && j.ping.rtts.length === 5 && j.ping.rtts.every(r => r >= 0 &&
     r < 5000)"
check "dial: noise + yamux, remote is A" "$W/ping.json" \
    "j.encryption === '/noise' && j.multiplexer === '/yamux/1.0.0' && j.remotePeer === '$ID_A' &&
     j.peerId === '$ID_B'"
check "identify (B about A): peer, echo+ping protocols, listen addr, agent" "$W/ping.json" \
    "j.identify.peerId === '$ID_A' && j.identify.protocols.includes('/fog/echo/1.0.0') &&
     j.identify.protocols.includes('/ipfs/ping/1.0.0') &&
     j.identify.listenAddrs.includes('$MA_NOID') && /libp2p/.test(j.identify.agentVersion) &&
     j.identify.protocolVersion !== null"
check "identify (B about A): observed addr is B's 127.0.0.1 socket (+ /p2p/B)" "$W/ping.json" \
    "/^\/ip4\/127\.0\.0\.1\/tcp\/[0-9]+(\/p2p\/$ID_B)?\$/.test(j.identify.observedAddr)"
# A identifies every inbound connection by itself (runOnConnectionOpen); wait for its line.
for ((i = 0; i < 50; i++)); do
    grep -q "\"event\":\"identify\",\"peerId\":\"$ID_B\"" "$W/A.out" && break
    sleep 0.1
done
check "identify (A about B): echo protocol, no listen addrs (a dial-only peer)" "$W/A.out" \
    "L.some(x => x.event === 'identify' && x.peerId === '$ID_B' &&
     x.protocols.includes('/fog/echo/1.0.0') && x.listenAddrs.length === 0)"
check "listen: 5 inbound ping streams from B" "$W/A.out" \
    "L.filter(x => x.event === 'ping' && x.remotePeer === '$ID_B').length === 5"
check "listen: connection event for B (noise, yamux, inbound)" "$W/A.out" \
    "L.some(x => x.event === 'connection' && x.remotePeer === '$ID_B' && x.direction === 'inbound' &&
     x.multiplexer === '/yamux/1.0.0')"

# --- 50 x 1 MiB echo ------------------------------------------------------------------------
"$JS_NODE" "$here/peer.mjs" dial "$MA" --echo-streams 50 --echo-bytes 1048576 \
    >"$W/echo.json" 2>"$W/echo.err"
check "echo: 50 streams x 1 MiB intact" "$W/echo.json" \
    "j.ok === true && j.echo.streams === 50 && j.echo.ok === 50 && j.echo.failed === 0"
check "echo: listener echoed 50 x 1048576 bytes" "$W/A.out" \
    "L.filter(x => x.event === 'echo' && x.bytes === 1048576 &&
     x.error === undefined).length === 50"
echo "     echo 50 x 1 MiB: $(jsq "$W/echo.json" 'j.echo.ms') ms," \
    "$(jsq "$W/echo.json" 'j.echo.MBps') MB/s"

# --- failures are reported ------------------------------------------------------------------
"$JS_NODE" "$here/peer.mjs" dial "$MA" --echo-streams 2 --echo-protocol /fog/nope/1.0.0 \
    >"$W/nope.json" 2>/dev/null
rc=$?
check "echo on an unsupported protocol: ok false, exit 1 ($rc)" "$W/nope.json" \
    "$rc === 1 && j.ok === false && j.echo.failed === 2 && /protocol/i.test(j.echo.errors[0])"
"$JS_NODE" "$here/peer.mjs" dial "${MA_NOID%/tcp/*}/tcp/1" --ping 1 --timeout 5000 \
    >"$W/refused.json" 2>/dev/null
check "dial to a closed port: ok false with an error" "$W/refused.json" \
    "j.ok === false && typeof j.error === 'string'"

# --- js-libp2p's per-protocol inbound stream limit (default 32 a connection) bites ----------
if js_peer_start C listen --port 0 --max-streams 32 --quiet; then
    "$JS_NODE" "$here/peer.mjs" dial "$(js_peer_addr C)" --echo-streams 50 --echo-bytes 1048576 \
        >"$W/limit.json" 2>/dev/null
    check "echo: a listener limited to 32 inbound streams resets the rest" "$W/limit.json" \
        "j.ok === false && j.echo.ok >= 32 && j.echo.failed > 0"
    js_peer_stop C
else
    fail "listen: peer C started"
fi

# --- bench between two js processes ---------------------------------------------------------
"$JS_NODE" "$here/peer.mjs" bench-dial "$MA" --bytes "$BENCH_BYTES" \
    >"$W/bench.json" 2>"$W/bench.err"
check "bench: $BENCH_BYTES bytes over one stream, sink counted them all" "$W/bench.json" \
    "j.ok === true && j.bytes === $BENCH_BYTES && j.received === $BENCH_BYTES"
check "bench: listener saw the same count" "$W/A.out" \
    "L.some(x => x.event === 'bench' && x.bytes === $BENCH_BYTES)"
echo "     bench JS->JS $BENCH_BYTES bytes: $(jsq "$W/bench.json" 'j.ms') ms," \
    "$(jsq "$W/bench.json" 'j.MBps') MB/s ($(jsq "$W/bench.json" 'j.MiBps') MiB/s)"

# --- closing stdin stops the listener -------------------------------------------------------
pidA=${JSP_PID[A]}
js_peer_stop A
if kill -0 "$pidA" 2>/dev/null; then
    fail "listen: peer A still running after stdin closed"
else
    check "listen: stdin closed -> stopping line, process gone" "$W/A.out" \
        "j.event === 'stopping' && j.reason === 'stdin closed'"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
