#!/usr/bin/env bash
# test_ipns.sh: IPNS records between fog and the JavaScript record libraries (issue 6), through
# `fog name inspect`, `fog dht get|put` and `fog name publish`; the JS side is
# tests/interop/helia-peer/ipns_records.mjs (the npm `ipns` package and @helia/ipns).
#  (a) JS -> fog: records made for one Ed25519 key (fixed seed) by the npm ipns package and by
#      @helia/ipns: `fog name inspect --verify NAME` accepts the valid ones (V1+V2, V2 only,
#      extensible data with text, bytes and a tag-42 link, each extra key listed by name) under
#      every form of NAME (k51..., 12D3KooW..., /ipns/...), and gives each bad one its own reason
#      and exit 1: expired, wrong key (another key in the pubKey field), bad signature (a flipped
#      signatureV2 byte; another key's signature without pubKey; a changed V1 value: "V1"), too
#      large (a value, or extensible data, past 10 KiB), lower sequence (--compare with a
#      record of a higher sequence), and the valid record checked as another key's name.
#      Offline `fog dht put` stores a valid JS record and refuses expired, wrong-key and lower
#      sequence ones; `fog dht get` gives the stored bytes back unchanged.
#  (b) fog -> JS: `fog name publish` (offline, twice, with a key of the repository), then
#      `fog dht get /ipns/NAME`: both JS validators (the ipns package's ipnsValidator +
#      unmarshalIPNSRecord, @helia/ipns's ipnsValidator) accept the record, with the value and
#      sequence fog published and fog's FogVersion key (decoded as the version node's CID fog
#      printed) in its signed data; `fog name inspect --verify` agrees.
#  (c) through daemons: fog daemons D1 and D2 (D2 bootstraps from D1): `fog dht put` beside D1
#      sends a JS record to the DHT (D2 accepts it: no "no peer accepted" warning) and `fog dht
#      get` beside D2 gives the same bytes; the daemon's put refuses an expired record and a
#      lower sequence with the reason; an unknown name is "routing: not found".
#  (d) helia -> fog: a helia 7 node H (helia.mjs, bootstrapped from D1) puts a record made by
#      the npm ipns package into the DHT (D1, D2). Then a new daemon D3 joins (bootstrapped from
#      D1): having stored neither record, `fog dht get` beside it finds both through GET_VALUE
#      lookups, the same bytes as put, and `fog name inspect --verify` validates helia's raw
#      record.
# Fails (never skips) when a part is missing or wrong. Env: FOG_BIN, T_FETCH (seconds per fog
# command, default 60), KEEP=1 keeps the scratch folder.
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=helia-peer/helia_lib.sh
. "$here/helia-peer/helia_lib.sh"
JSP_WORK=$work
HEL_WORK=$work
if [ ! -x "$HELIA_NODE" ] || [ ! -d "$HELIA_DIR/node_modules/ipns" ] ||
    [ ! -d "$HELIA_DIR/node_modules/@helia/ipns" ]; then
    echo "FAIL setup: ipns or @helia/ipns missing; run scripts/deps.sh --test"
    exit 1
fi
T_FETCH=${T_FETCH:-60}
PIDS=()
trap all_stop EXIT

JS="$HELIA_NODE $HELIA_DIR/ipns_records.mjs"
R=$work/r
fr() { timeout -k 5 "$T_FETCH" "$FOG" --repo "$R" "$@"; }

# expect_valid DESC NAME FILE: inspect --verify says "Valid: true" and exits 0.
expect_valid() {
    if fr name inspect --verify "$2" "$3" >"$work/out" 2>"$work/err" &&
        grep -qE $'^\tValid: +true$' "$work/out"; then
        ok "$1"
    else
        fail "$1: $(grep -E 'Reason|error' "$work/out" "$work/err" | head -1)"
    fi
}
# expect_reason DESC PATTERN NAME FILE [ARGS...]: exit 1, "Valid: false", Reason matching.
expect_reason() {
    local desc=$1 pat=$2 name=$3 file=$4
    shift 4
    fr name inspect --verify "$name" "$@" "$file" >"$work/out" 2>"$work/err"
    local rc=$?
    if [ "$rc" = 1 ] && grep -qE $'^\tValid: +false$' "$work/out" &&
        grep -qE $'^\tReason: +'"$pat" "$work/out"; then
        ok "$desc"
    else
        fail "$desc: exit $rc, $(grep -E 'Valid|Reason' "$work/out" | tr '\n\t' '  ')" \
            "$(first_line "$work/err")"
    fi
}
# expect_error DESC PATTERN CMD...: exit 1 with an "error: " line matching PATTERN.
expect_error() {
    local desc=$1 pat=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    local rc=$?
    if [ "$rc" = 1 ] && grep -qE "^error: .*$pat" "$work/err"; then
        ok "$desc"
    else
        fail "$desc: exit $rc, $(first_line "$work/err")"
    fi
}

# --- (a) JS -> fog ------------------------------------------------------------------------------
fr init >/dev/null 2>"$work/init.err" || { fail "fog init: $(first_line "$work/init.err")"; exit 1; }
echo "ipns interop" >"$work/content.txt"
CID=$(fr add -Q "$work/content.txt" 2>/dev/null | tail -1)
J=$work/js
if $JS make "$J" "$(printf '%064x' 11)" "$(printf '%064x' 22)" "/ipfs/$CID" >"$work/make.json" \
    2>"$work/make.err"; then
    ok "JS made the records: $(jsq "$work/make.json" 'JSON.stringify(j.sizes)')"
else
    fail "ipns_records.mjs make: $(first_line "$work/make.json") $(first_line "$work/make.err")"
    summary
    exit 1
fi
NAME=$(jsq "$J/names.json" j.name)
PEER=$(jsq "$J/names.json" j.peer)
OTHER=$(jsq "$J/names.json" j.otherName)
OTHER_PEER=$(jsq "$J/names.json" j.otherPeer)

expect_valid "ipns V1+V2 record is valid (k51 name)" "$NAME" "$J/valid.bin"
expect_valid "the same under the 12D3KooW form" "$PEER" "$J/valid.bin"
expect_valid "the same under /ipns/NAME" "/ipns/$NAME" "$J/valid.bin"
expect_valid "ipns V2-only record is valid" "$NAME" "$J/valid_v2.bin"
expect_valid "@helia/ipns record with extensible data is valid" "$NAME" "$J/extra.bin"
grep -qx "Extra Keys:    Blob, Note" "$work/out" && ok "extra keys listed by name" ||
    fail "extra keys: $(grep Extra "$work/out")"
expect_valid "extensible data holding a tag-42 link is valid" "$NAME" "$J/link.bin"
grep -q "\"Link\":{\"/\":\"$CID\"}" "$work/out" && ok "the link shows as DAG-JSON {\"/\": CID}" ||
    fail "link in Data: $(grep Data "$work/out" | cut -c1-200)"
fr name inspect "$J/valid.bin" >"$work/out" 2>&1
grep -qx "Value:         \"/ipfs/$CID\"" "$work/out" && grep -qx "Sequence:      5" "$work/out" &&
    grep -qx "Signature V1:  present, 64 bytes" "$work/out" &&
    grep -q "^This record was not validated.$" "$work/out" &&
    ok "inspect without --verify prints the fields" || fail "inspect fields: $(head -c 300 "$work/out")"

expect_reason "expired record" "expired: .*2020-01-01" "$NAME" "$J/expired.bin"
expect_reason "record with another key in pubKey: wrong key" "wrong key: .*$OTHER_PEER" \
    "$NAME" "$J/wrong_key.bin"
expect_reason "flipped signatureV2 byte: bad signature" "bad signature: .*signatureV2" \
    "$NAME" "$J/bad_sig.bin"
expect_reason "another key's signature, no pubKey: bad signature" "bad signature" \
    "$NAME" "$J/other_nopub.bin"
expect_reason "changed V1 value: bad signature (V1)" "bad signature: .*V1" "$NAME" "$J/bad_v1.bin"
expect_reason "valid record checked as another name's" "bad signature" "$OTHER" "$J/valid.bin"
expect_reason "sequence 3 against 7: lower sequence" "lower sequence: 3 < 7" \
    "$NAME" "$J/seq3.bin" --compare "$J/seq7.bin"
expect_valid "sequence 7 against 3 is valid" "$NAME" "$J/seq7.bin"
fr name inspect --verify "$NAME" --compare "$J/seq3.bin" "$J/seq7.bin" >/dev/null 2>&1 &&
    ok "--compare with a lower sequence: valid" || fail "seq7 --compare seq3 should be valid"
expect_error "value over 10 KiB: too large" "too large: more than 10240 bytes" \
    fr name inspect --verify "$NAME" "$J/too_large_value.bin"
expect_error "extensible data over 10 KiB: too large" "too large: more than 10240 bytes" \
    fr name inspect --verify "$NAME" "$J/too_large_data.bin"
expect_error "too large from stdin" "standard input: too large" \
    sh -c "exec \"\$0\" --repo \"\$1\" name inspect < \"\$2\"" "$FOG" "$R" \
    "$J/too_large_value.bin"

# offline dht put/get of JS records
expect_error "offline put of an expired record" "invalid record: .*expired" \
    fr dht put "/ipns/$NAME" "$J/expired.bin"
expect_error "offline put of a wrong-key record" "invalid record: .*key" \
    fr dht put "/ipns/$NAME" "$J/wrong_key.bin"
if fr dht put "/ipns/$NAME" "$J/seq7.bin" >"$work/put.out" 2>"$work/put.err" &&
    [ "$(cat "$work/put.out")" = "$PEER" ] && grep -q "^offline: " "$work/put.err"; then
    ok "offline put stores the record, prints the peer ID and says it is offline"
else
    fail "offline put: $(cat "$work/put.out") $(first_line "$work/put.err")"
fi
expect_error "offline put of a lower sequence" "can't replace a newer value" \
    fr dht put "/ipns/$NAME" "$J/seq3.bin"
if fr dht get "/ipns/$NAME" >"$work/got.bin" 2>"$work/get.err" && cmp -s "$work/got.bin" "$J/seq7.bin"
then
    ok "offline get gives the stored JS record back byte for byte"
else
    fail "offline get: $(first_line "$work/get.err")"
fi

# --- (b) fog -> JS ------------------------------------------------------------------------------
FNAME=$(fr key gen pub 2>"$work/kg.err")
[ -n "$FNAME" ] || fail "fog key gen: $(first_line "$work/kg.err")"
echo "second" >"$work/second.txt"
CID2=$(fr add -Q "$work/second.txt" 2>/dev/null | tail -1)
fr name publish --key pub -m one "$CID" >/dev/null 2>&1 || fail "fog name publish 1"
if fr name publish --key pub -m two "$CID2" >"$work/pub.out" 2>"$work/pub.err"; then
    ok "fog publishes two versions offline"
else
    fail "fog name publish 2: $(first_line "$work/pub.err")"
fi
VER=$(sed -n 's/^version 2 (\([a-z0-9]*\)).*/\1/p' "$work/pub.err")
[ -n "$VER" ] && ok "publish printed version 2's node" || fail "no version line: $(cat "$work/pub.err")"
fr dht get "/ipns/$FNAME" >"$work/fog.bin" 2>"$work/fget.err" && ok "fog dht get of fog's record" ||
    fail "fog dht get: $(first_line "$work/fget.err")"
$JS check "$FNAME" "$work/fog.bin" >"$work/check.json" 2>&1
check "the npm ipns package validates fog's record" "$work/check.json" "j.ipnsOk === true"
check "@helia/ipns validates fog's record" "$work/check.json" "j.heliaOk === true"
check "JS reads fog's value and sequence" "$work/check.json" \
    "j.value === '/ipfs/$CID2' && j.sequence === '1'"
check "JS finds FogVersion in the signed data, the node fog printed" "$work/check.json" \
    "j.keys.includes('FogVersion') && j.fogVersion === '$VER'"
expect_valid "fog inspect --verify agrees" "$FNAME" "$work/fog.bin"
grep -qx "Fog Version:   $VER" "$work/out" && ok "inspect shows the version node" ||
    fail "Fog Version line: $(grep Fog "$work/out")"
$JS check "$NAME" "$work/fog.bin" >"$work/check2.json" 2>&1
check "JS refuses fog's record under another name" "$work/check2.json" \
    "j.ipnsOk === false && j.heliaOk === false"

# --- (c) through two daemons --------------------------------------------------------------------
f 1 init >/dev/null 2>&1 && f 2 init >/dev/null 2>&1 || { fail "init d1 d2"; summary; exit 1; }
start_daemon 1 || { summary; exit 1; }
ADDR1=$(listen_addr "$work/d1")
f 2 bootstrap add "$ADDR1" >/dev/null 2>&1 || fail "bootstrap add on d2"
start_daemon 2 || { summary; exit 1; }
wait_line "$work/d2.err" "dht: bootstrapped from 1 peers" 200 && ok "d2 bootstrapped from d1" ||
    fail "d2 did not bootstrap: $(tail -n 2 "$work/d2.err" | tr '\n' ' ')"
if f 1 dht put "/ipns/$NAME" "$J/valid.bin" >"$work/dput.out" 2>"$work/dput.err" &&
    [ "$(cat "$work/dput.out")" = "$PEER" ]; then
    ok "dht put through daemon d1 prints the name's peer ID"
else
    fail "dht put via d1: $(cat "$work/dput.out") $(first_line "$work/dput.err")"
fi
grep -q "no peer accepted" "$work/dput.err" && fail "d2 did not accept the record" ||
    ok "a peer (d2) accepted the record"
if f 2 dht get "/ipns/$NAME" >"$work/dget.bin" 2>"$work/dget.err" &&
    cmp -s "$work/dget.bin" "$J/valid.bin"; then
    ok "dht get beside d2 gives the same bytes"
else
    fail "dht get via d2: $(first_line "$work/dget.err")"
fi
expect_error "the daemon's put refuses an expired record" "invalid record: .*expired" \
    f 1 dht put "/ipns/$NAME" "$J/expired.bin"
expect_error "the daemon's put refuses a lower sequence" "can't replace a newer value" \
    f 1 dht put "/ipns/$NAME" "$J/seq3.bin"
expect_error "an unknown name is not found" "routing: not found" f 2 dht get "/ipns/$OTHER"
expect_error "a key outside /ipns is refused" "/ipns/NAME" f 2 dht get "/pk/$OTHER"

# --- (d) helia -> fog ---------------------------------------------------------------------------
HNAME=
if helia_start H --bootstrap "$ADDR1"; then
    wait_line "$work/H.out" '"event":"bootstrap"' 300 || true
    SEED=$(printf '%064x' 33)
    helia_cmd H 90 ipns-publish "$SEED" "/ipfs/$CID" 60000 >"$work/h_pub.json"
    check "helia puts a record into the DHT" "$work/h_pub.json" "j.ok === true"
    HNAME=$(jsq "$work/h_pub.json" 'j.name || ""')
else
    fail "helia node H did not start"
fi
f 3 init >/dev/null 2>&1 && f 3 bootstrap add "$ADDR1" >/dev/null 2>&1 || fail "init d3"
start_daemon 3 || { summary; exit 1; }
wait_line "$work/d3.err" "dht: bootstrapped from 1 peers" 200 || fail "d3 did not bootstrap"
if f 3 dht get "/ipns/$NAME" >"$work/d3get.bin" 2>"$work/d3get.err" &&
    cmp -s "$work/d3get.bin" "$J/valid.bin"; then
    ok "new daemon d3 finds the JS record through the DHT, same bytes"
else
    fail "dht get via d3: $(first_line "$work/d3get.err")"
fi
if [ -n "$HNAME" ] && f 3 dht get "/ipns/$HNAME" >"$work/h.bin" 2>"$work/hget.err"; then
    ok "d3 finds helia's record through the DHT"
    expect_valid "fog inspect --verify validates helia's raw record" "$HNAME" "$work/h.bin"
else
    fail "fog dht get of helia's name: $(first_line "$work/hget.err")"
fi
summary
