#!/usr/bin/env bash
# test_helia.sh: find and fetch between fog and helia 7 (issue 5, "What must show it"), all
# through the real fog daemon and CLI; nobody is dialled by hand except the bootstrap node.
# A small mixed network on loopback: fog daemon F0 is everyone's only bootstrap peer; fog
# daemons F1..F(N-2) (N = FOG_NODES, default 22) and two helia DHT servers H and J bootstrap
# from it (tests/interop/helia-peer/helia.mjs: helia + @libp2p/kad-dht + @helia/bitswap, no
# default bootstrap list, delegated routing or gateways). With 24 DHT servers a FIND_NODE
# answer (20 peers) is a real choice among them, not simply everyone.
#  (1) helia -> fog: H adds a 5 MiB file and provides it (ADD_PROVIDER to the closest peers
#      of the DHT, fog daemons among them); every fog daemon H announced to answers
#      GET_PROVIDERS with H and H's address; then fog daemon F(N-1) joins (bootstrapped from
#      F0 only), finds H with `fog dht findprovs` and fetches the file with `fog cat CID`
#      (DHT, dial, bitswap): bytes compared.
#  (2) fog -> helia: `fog add -r` beside daemon F2, `fog dht provide ROOT` through it; a fresh
#      helia node G (DHT client, bootstrapped from F0) finds F2 through the DHT and fetches the
#      folder (ls + cat of every entry): the tree equals the source (diff -r).
#  (3) fog's answers to helia's DHT client, one request to one fog daemon each (G's DHT network
#      layer, no lookup): FIND_NODE to F0 for two keys gives exactly the 20 peers of the
#      network closest to SHA-256(key) (computed here from the known peer IDs, F0 itself and
#      the client G excluded), each with its real listen address; GET_PROVIDERS for the folder
#      root to the fog daemons among its 20 closest peers lists F2 alone with its address;
#      GET_PROVIDERS for a CID nobody provides lists no provider and the 20 closest peers.
# Fails (never skips) when a fog part is missing or wrong; stops every process on exit.
# Env: FOG_BIN, FOG_NODES (fog daemons, default 22, at least 4), T_FETCH (seconds allowed for one
# fetch or fog command, default 60), KEEP=1 keeps the scratch
# folder, JS_DEBUG=1 runs helia with DEBUG=libp2p:kad-dht*,helia:bitswap* into its .err files.
# Run alone: FOG_BIN=build/fog bash tests/interop/test_helia.sh
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=helia-peer/helia_lib.sh
. "$here/helia-peer/helia_lib.sh"
JSP_WORK=$work
HEL_WORK=$work
if [ ! -x "$HELIA_NODE" ] || [ ! -d "$HELIA_DIR/node_modules/helia" ]; then
    echo "FAIL setup: helia missing; run scripts/deps.sh --test (npm ci in tests/interop/helia-peer)"
    exit 1
fi
if [ "${JS_DEBUG:-0}" = 1 ]; then
    export DEBUG='libp2p:kad-dht*,helia:bitswap*'
fi
NFOG=${FOG_NODES:-22}
if [ "$NFOG" -lt 4 ]; then
    echo "FAIL setup: FOG_NODES must be at least 4"
    exit 1
fi
K=20
T_FETCH=${T_FETCH:-60} # seconds for one fetch or lookup before it counts as failed

PIDS=()
trap all_stop EXIT
abort() {
    summary
    exit 1
}
# start_daemon N: fog daemon on $work/dN, loopback port 0; waits for "daemon is ready".
# in_list ID ID...: is the first ID among the others?
in_list() {
    local x=$1 y
    shift
    for y in "$@"; do
        [ "$x" = "$y" ] && return 0
    done
    return 1
}

# --- inputs (seeded PRNG, tests/interop/lib.mjs) --------------------------------------------
"$NODE" --input-type=module -e "
import fs from 'node:fs'
import { randomBytes, seedOf } from '$here/lib.mjs'
const w = process.argv[1]
const put = (rel, n) => {
    fs.mkdirSync(w + '/' + rel.replace(/\/[^/]*$/, ''), { recursive: true })
    fs.writeFileSync(w + '/' + rel, randomBytes(seedOf(rel), n))
}
put('in/helia.bin', 5 * 1048576 + 7)
put('in/folder/big.bin', 2 * 1048576 + 300 * 1024 + 3)
put('in/folder/one.bin', 1)
put('in/folder/empty.bin', 0)
fs.mkdirSync(w + '/in/folder/empty-dir', { recursive: true })
for (const n of ['caf\u00e9', 'cafe\u0301', '\u6587\u4ef6', '\u{1F600}', 'a'.repeat(255)]) {
    put('in/folder/names/' + n, 100)
}
for (let i = 0; i < 120; i++) {
    put('in/folder/deep/a/b/many/f' + i + '.dat', 1000 + i * 37)
}
" "$work" || { fail "inputs: generating with lib.mjs"; abort; }

# --- the network: F0 first, F1..F(N-1) bootstrap from it -------------------------------------
for ((i = 0; i < NFOG; i++)); do
    if ! "$FOG" --repo "$work/d$i" init >/dev/null 2>"$work/init$i.err"; then
        fail "fog init $i: $(first_line "$work/init$i.err")"
        abort
    fi
    FID[i]=$(peer_id "$work/d$i")
done
start_daemon 0 || abort
ADDR[0]=$(listen_addr "$work/d0")
if [ -z "${ADDR[0]}" ] || [ "${ADDR[0]##*/p2p/}" != "${FID[0]}" ]; then
    fail "daemon 0 prints a loopback listen address with its peer ID: $(head -c 300 "$work/d0.out")"
    abort
fi
# start_member N: daemon N with F0 alone in its Bootstrap list; waits for its DHT bootstrap
start_member() {
    if ! "$FOG" --repo "$work/d$1" bootstrap add "${ADDR[0]}" >/dev/null 2>"$work/bs$1.err"; then
        fail "bootstrap add on $1: $(first_line "$work/bs$1.err")"
        return 1
    fi
    start_daemon "$1" || return 1
    ADDR[$1]=$(listen_addr "$work/d$1")
}
FX=$((NFOG - 1)) # the fog fetcher of (1): started only after helia provided
for ((i = 1; i < FX; i++)); do
    start_member "$i" || abort
done
ok "$FX fog daemons ready, F1..F$((FX - 1)) with F0 as their only bootstrap peer"
nboot=0
for ((i = 1; i < FX; i++)); do
    wait_line "$work/d$i.err" "dht: bootstrapped from 1 peers" 200 && nboot=$((nboot + 1))
done
if [ "$nboot" = $((FX - 1)) ]; then
    ok "every fog daemon bootstrapped its DHT from F0"
else
    fail "only $nboot of $((FX - 1)) fog daemons logged 'dht: bootstrapped' from F0"
fi

# helia DHT servers H (provider) and J (another js peer of the DHT), bootstrapped from F0
for n in H J; do
    if ! helia_start "$n" --bootstrap "${ADDR[0]}"; then
        fail "helia node $n started"
        abort
    fi
    wait_line "$work/$n.out" '"event":"bootstrap"' 300 || true
    check "helia $n: bootstrapped from F0 (identify lists /ipfs/kad/1.0.0, F0 in its table)" \
        "$work/$n.out" "L.some(x => x.event === 'bootstrap' && x.ok && x.kad &&
         x.remotePeer === '${FID[0]}' && x.routingTable >= 1)"
done
ID_H=$(helia_id H)
ID_J=$(helia_id J)
ADDR_H=$(helia_addr H)
ADDR_J=$(helia_addr J)
FOGS_JS="[$(printf "'%s', " "${FID[@]}")]"
# the helia nodes' self-queries and the daemons' bucket refreshes settle the routing tables
sleep 3

echo "     [${SECONDS}s] network up"
# --- (1) helia adds and provides, fog finds and fetches ---------------------------------------
helia_cmd H 60 add "$work/in/helia.bin" >"$work/h_add.json"
check "helia H adds the 5 MiB file" "$work/h_add.json" "j.ok === true && j.bytes === 5242887"
CID_H=$(jsq "$work/h_add.json" 'j.cid || ""')
helia_cmd H 120 provide "$CID_H" 60000 >"$work/h_prov.json"
check "helia H provides it: ADD_PROVIDER sent to fog daemons" "$work/h_prov.json" \
    "j.ok === true && j.sentTo.some(p => $FOGS_JS.includes(p))"
mapfile -t SENT_H < <(jsq "$work/h_prov.json" '(j.sentTo || []).join("\n")' | grep .)

# G: a fresh helia DHT client (not in anyone's routing table) used for (2) and (3)
if ! helia_start G --dht-client --bootstrap "${ADDR[0]}"; then
    fail "helia node G started"
    abort
fi
wait_line "$work/G.out" '"event":"bootstrap"' 300 || true
check "helia G (DHT client): bootstrapped from F0" "$work/G.out" \
    "L.some(x => x.event === 'bootstrap' && x.ok && x.remotePeer === '${FID[0]}')"

# every fog daemon H announced to stored the record: GET_PROVIDERS lists H with its address
has_provider() { # FILE ID ADDR: the kad answer in FILE lists provider ID with address ADDR
    [ "$(jsq "$1" "j.ok === true && j.messageType === 'GET_PROVIDERS' &&
        j.providers.some(p => p.id === '$2' &&
          p.addrs.map(a => a.replace(/\/p2p\/.*$/, '')).includes('$3'))")" = true ]
}
asked=()
missing=()
for ((i = 0; i < NFOG; i++)); do
    in_list "${FID[i]}" "${SENT_H[@]}" || continue
    asked+=("F$i")
    helia_cmd G 30 kad "${ADDR[i]}" GET_PROVIDERS "$CID_H" 20000 >"$work/gp_h$i.json"
    has_provider "$work/gp_h$i.json" "$ID_H" "${ADDR_H%/p2p/*}" || missing+=("F$i")
done
if [ "${#asked[@]}" -gt 0 ] && [ "${#missing[@]}" = 0 ]; then
    ok "GET_PROVIDERS(H's file) to each of the ${#asked[@]} fog daemons H announced to: H + address"
else
    fail "GET_PROVIDERS(H's file): ${#missing[@]} of ${#asked[@]} fog daemons H announced to" \
        "do not list H with ${ADDR_H%/p2p/*} (${missing[*]:0:5}...); F${missing[0]#F}:" \
        "$(cut -c1-300 "$work/gp_h${missing[0]#F}.json" 2>/dev/null)"
fi
echo "     [${SECONDS}s] helia's record checked"

# the fetcher FX: a fog daemon that joins now, so it knows of H only through the DHT
start_member "$FX" || abort
if wait_line "$work/d$FX.err" "dht: bootstrapped from 1 peers" 200; then
    ok "fetcher F$FX joined (DHT bootstrapped from F0)"
else
    fail "fetcher F$FX: no 'dht: bootstrapped' in 20 s: $(head -c 300 "$work/d$FX.err")"
fi
FC=$FX
f "$FC" swarm peers >"$work/peers_fx.out" 2>&1
echo "     F$FC connected to H before fetching (its DHT bootstrap may have dialled H):" \
    "$(grep -qF "$ID_H" "$work/peers_fx.out" && echo yes || echo no)"
if f "$FC" dht findprovs "$CID_H" >"$work/fp_h.out" 2>"$work/fp_h.err" &&
    grep -qF "$ID_H" "$work/fp_h.out"; then
    ok "fog dht findprovs on F$FC finds helia H"
else
    fail "fog dht findprovs on F$FC finds H: $(head -c 200 "$work/fp_h.out") $(first_line "$work/fp_h.err")"
fi
t0=$(date +%s%N)
f "$FC" cat "$CID_H" >"$work/h_fetched.bin" 2>"$work/h_cat.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$rc" = 0 ] && cmp -s "$work/in/helia.bin" "$work/h_fetched.bin"; then
    ok "fog cat on F$FC: helia's 5 MiB file through DHT + bitswap, bytes equal ($ms ms)"
else
    fail "fog cat on F$FC of helia's file: exit $rc, $(stat -c %s "$work/h_fetched.bin") bytes," \
        "$(first_line "$work/h_cat.err")"
fi

echo "     [${SECONDS}s] (1) done"
# every DHT server now: {id: listen address without /p2p}
SERVERS=("${FID[@]}" "$ID_H" "$ID_J")
ADDRMAP="({$(for ((i = 0; i < NFOG; i++)); do printf "'%s': '%s', " "${FID[i]}" "${ADDR[i]%/p2p/*}"; done)
 '$ID_H': '${ADDR_H%/p2p/*}', '$ID_J': '${ADDR_J%/p2p/*}'})"
# --- (2) fog adds a folder, helia finds and fetches it ----------------------------------------
F2=2
if f $F2 add -r -Q "$work/in/folder" >"$work/f_add.out" 2>"$work/f_add.err"; then
    ok "fog add -r beside daemon F$F2"
else
    fail "fog add -r beside daemon F$F2: $(first_line "$work/f_add.err")"
fi
ROOT=$(tail -n 1 "$work/f_add.out")
if f $F2 dht provide "$ROOT" >"$work/f_prov.out" 2>"$work/f_prov.err"; then
    ok "fog dht provide ROOT through daemon F$F2"
else
    fail "fog dht provide ROOT on F$F2: $(first_line "$work/f_prov.err")"
fi
helia_cmd G 60 peers >"$work/g_peers.json"
echo "     G connected to F$F2 before its lookup: $(jsq "$work/g_peers.json" \
    "(j.peers || []).some(p => p.id === '${FID[F2]}')")"
helia_cmd G 90 findprovs "$ROOT" 60000 1 >"$work/g_fp.json"
check "helia G findProviders(ROOT) through the DHT: F$F2 with its address" "$work/g_fp.json" \
    "j.ok === true && j.providers.some(p => p.id === '${FID[F2]}' &&
       p.addrs.map(a => a.replace(/\/p2p\/.*$/, '')).includes('${ADDR[F2]%/p2p/*}'))"
check "helia G findProviders: every fog answer names only peers of this network" "$work/g_fp.json" \
    "j.query.responses.length > 0 && j.query.responses.every(r =>
       r.closer.concat(r.providers).every(p => $ADDRMAP[p.id] !== undefined))"
helia_cmd G $((T_FETCH + 10)) get "$ROOT" "$work/g_folder" $((T_FETCH * 1000)) >"$work/g_get.json"
check "helia G fetches fog's folder (128 files, 7 folders) by bitswap from F$F2" "$work/g_get.json" \
    "j.ok === true && j.files === 128 && j.dirs === 7 && j.peersUsed.includes('${FID[F2]}')"
if diff -r "$work/in/folder" "$work/g_folder" >"$work/diff.out" 2>&1; then
    ok "helia's copy of fog's folder equals the source (diff -r)"
else
    fail "helia's copy differs from the source: $(head -c 300 "$work/diff.out")"
fi
[ "$(jsq "$work/g_get.json" j.ok)" = true ] &&
    echo "     helia G fetched the folder in $(jsq "$work/g_get.json" 'j.ms') ms"

echo "     [${SECONDS}s] (2) done"
# --- (3) fog answers helia's FIND_NODE and GET_PROVIDERS --------------------------------------
# expect_closest KEY EXCLUDED...: the K DHT servers closest to KEY (JSON array), others left out
expect_closest() {
    local key=$1 id ids=()
    shift
    for id in "${SERVERS[@]}"; do
        in_list "$id" "$@" || ids+=("$id")
    done
    "$HELIA_NODE" "$HELIA_DIR/helia.mjs" closest-of "$key" "${ids[@]}" |
        jsq /dev/stdin "j.sorted.slice(0, $K)"
}
# ask_until FILE EXPECTED TO TYPE KEY: asks up to 5 times (2 s apart) until the closer peers are
# the expected set (routing tables may still be filling), leaving the last answer in FILE
ask_until() {
    local file=$1 want=$2 i
    shift 2
    for ((i = 0; i < 5; i++)); do
        helia_cmd G 30 kad "$@" 20000 >"$file"
        [ "$(jsq "$file" "j.ok === true &&
            JSON.stringify(j.closer.map(p => p.id).sort()) === JSON.stringify($want.sort())")" = true ] &&
            return 0
        sleep 2
    done
}
# closer_ok WANT: the answer's closer peers are exactly WANT, each with its real address
closer_ok() {
    echo "j.ok === true && j.closer.length === $1.length &&
      j.closer.every(p => $1.includes(p.id) &&
        p.addrs.map(a => a.replace(/\/p2p\/.*$/, '')).includes($ADDRMAP[p.id]))"
}
KEY_OUT=$("$HELIA_NODE" "$HELIA_DIR/helia.mjs" id --seed "$(printf '%064x' 77)" | jsq /dev/stdin j.peerId)
for key in "$KEY_OUT" "$ID_H"; do
    want=$(expect_closest "$key" "${FID[0]}")
    ask_until "$work/fn_$key.json" "$want" "${ADDR[0]}" FIND_NODE "$key"
    what="a peer outside the network"
    [ "$key" = "$ID_H" ] && what="helia H"
    check "FIND_NODE to F0 for $what: exactly the $K closest DHT servers, real addresses" \
        "$work/fn_$key.json" "j.messageType === 'FIND_NODE' && $(closer_ok "$want")"
done
mapfile -t NEAR_ROOT < <(expect_closest "$ROOT" | jsq /dev/stdin 'j.join("\n")')
asked=()
missing=()
for ((i = 0; i < NFOG; i++)); do
    [ "$i" = "$F2" ] && continue
    in_list "${FID[i]}" "${NEAR_ROOT[@]}" || continue
    asked+=("F$i")
    helia_cmd G 30 kad "${ADDR[i]}" GET_PROVIDERS "$ROOT" 20000 >"$work/gp_root$i.json"
    if ! has_provider "$work/gp_root$i.json" "${FID[F2]}" "${ADDR[F2]%/p2p/*}" ||
        [ "$(jsq "$work/gp_root$i.json" 'j.providers.length')" != 1 ]; then
        missing+=("F$i")
    fi
done
if [ "${#asked[@]}" -gt 0 ] && [ "${#missing[@]}" = 0 ]; then
    ok "GET_PROVIDERS(fog's folder) to the ${#asked[@]} fog daemons among its $K closest:" \
        "F$F2 alone, with its address"
else
    fail "GET_PROVIDERS(fog's folder): ${#missing[@]} of ${#asked[@]} fog daemons among its" \
        "$K closest do not list F$F2 alone with ${ADDR[F2]%/p2p/*} (${missing[*]:0:5}...);" \
        "F${missing[0]#F}: $(cut -c1-300 "$work/gp_root${missing[0]#F}.json" 2>/dev/null)"
fi
# a CID nobody provides: no providers, the closer peers only
NOBODY=$("$HELIA_NODE" "$HELIA_DIR/helia.mjs" raw-cid "nobody has this" | jsq /dev/stdin j.cid)
want=$(expect_closest "$NOBODY" "${FID[0]}")
ask_until "$work/gp_none.json" "$want" "${ADDR[0]}" GET_PROVIDERS "$NOBODY"
check "GET_PROVIDERS to F0 for a CID nobody provides: no provider, the $K closest peers" \
    "$work/gp_none.json" "j.messageType === 'GET_PROVIDERS' && j.providers.length === 0 &&
     $(closer_ok "$want")"

echo "     [${SECONDS}s] (3) done"
# --- the daemons stop cleanly -----------------------------------------------------------------
helia_stop_all
nbad=0
for ((i = 0; i < NFOG; i++)); do
    p=${PIDS[i]}
    kill -TERM "$p" 2>/dev/null
    wait "$p"
    rc=$?
    if [ "$rc" != 0 ]; then
        nbad=$((nbad + 1))
        echo "     daemon $i exit $rc: $(tail -n 2 "$work/d$i.err" | tr '\n' ' ' | cut -c1-200)"
    fi
done
PIDS=()
if [ "$nbad" = 0 ]; then
    ok "all $NFOG daemons exit 0 on SIGTERM"
else
    fail "$nbad of $NFOG daemons did not exit 0 on SIGTERM"
fi
summary
