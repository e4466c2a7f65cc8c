#!/usr/bin/env bash
# test_helia_ipns.sh: IPNS names between fog and helia 7 with @helia/ipns (issue 6, "Interop"),
# on a mixed DHT on loopback: fog daemons F0..F(N-1) (N = FOG_NODES, default 6; F0 everyone's
# bootstrap peer) and a helia DHT server H (tests/interop/helia-peer/helia.mjs), nobody dialled
# by hand but F0.
#  (1) fog -> helia: `fog name publish -m one` beside F1 puts a record (with fog's FogVersion
#      link in its signed data) into the DHT; H resolves the name with @helia/ipns (nocache:
#      through the DHT) to the same /ipfs path, and the raw record H gets from the DHT passes the
#      npm `ipns` package's ipnsValidator, with FogVersion in its data map equal to the version
#      node fog reported. F1 publishes a second version; H resolves the new path.
#  (2) helia -> fog: H makes a record with the npm ipns package and puts it into the DHT
#      (kad-dht PUT_VALUE); `fog name resolve --nocache` beside F3, which never talked to H
#      directly, finds it through the DHT (fog's DHT validator checked the JS record on the way), and a JS record
#      without fog's history gives `fog log` a clear error.
# Fails (never skips) when a part is missing or wrong; stops every process on exit.
# Env: FOG_BIN, FOG_NODES (default 6, at least 4), T_FETCH (seconds per command, default 60),
# KEEP=1 keeps the scratch folder.
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=helia-peer/helia_lib.sh
. "$here/helia-peer/helia_lib.sh"
JSP_WORK=$work
HEL_WORK=$work
if [ ! -x "$HELIA_NODE" ] || [ ! -d "$HELIA_DIR/node_modules/@helia/ipns" ]; then
    echo "FAIL setup: helia or @helia/ipns missing; run scripts/deps.sh --test"
    exit 1
fi
NFOG=${FOG_NODES:-6}
T_FETCH=${T_FETCH:-60}

PIDS=()
trap all_stop EXIT
abort() {
    summary
    exit 1
}

# --- the network ------------------------------------------------------------------------------
for ((i = 0; i < NFOG; i++)); do
    if ! f "$i" init >/dev/null 2>"$work/init$i.err"; then
        fail "fog init $i: $(first_line "$work/init$i.err")"
        abort
    fi
done
start_daemon 0 || abort
ADDR0=$(listen_addr "$work/d0")
for ((i = 1; i < NFOG; i++)); do
    f "$i" bootstrap add "$ADDR0" >/dev/null 2>&1 || { fail "bootstrap add on $i"; abort; }
    start_daemon "$i" || abort
done
for ((i = 1; i < NFOG; i++)); do
    wait_line "$work/d$i.err" "dht: bootstrapped from 1 peers" 200 || fail "daemon $i bootstrapped"
done
helia_start H --bootstrap "$ADDR0" || { fail "helia node H started"; abort; }
wait_line "$work/H.out" '"event":"bootstrap"' 300 || true
check "helia H bootstrapped from F0" "$work/H.out" "L.some(x => x.event === 'bootstrap' && x.ok)"
sleep 2
ok "network up: $NFOG fog daemons and helia H"

# --- (1) fog publishes, helia resolves ---------------------------------------------------------
echo "first version" >"$work/v1.txt"
echo "second version" >"$work/v2.txt"
C1=$(f 1 add -Q "$work/v1.txt" 2>/dev/null | tail -1)
C2=$(f 1 add -Q "$work/v2.txt" 2>/dev/null | tail -1)
if f 1 name publish -m one "$C1" >"$work/pub1.out" 2>"$work/pub1.err"; then
    ok "fog publishes version 1"
else
    fail "fog name publish: $(first_line "$work/pub1.err")"
    abort
fi
NAME=$(sed -n 's/^Published to \([^:]*\): .*/\1/p' "$work/pub1.out")
VER1=$(sed -n 's/^version 1 (\(.*\))$/\1/p' "$work/pub1.err")
[ -n "$NAME" ] && [ -n "$VER1" ] && ok "publish names the IPNS name and version node" ||
    fail "publish output: $(cat "$work/pub1.out" "$work/pub1.err" | tr '\n' ' ')"
helia_cmd H 90 ipns-resolve "$NAME" 60000 >"$work/h_res1.json"
check "helia resolves fog's name through the DHT to version 1" "$work/h_res1.json" \
    "j.ok === true && j.value === '/ipfs/$C1'"
check "the npm ipns validator accepts fog's record" "$work/h_res1.json" "j.validatorOk === true"
check "fog's history link rides in the signed data (FogVersion = version 1's node)" \
    "$work/h_res1.json" \
    "j.data && j.data.keys.includes('FogVersion') && j.data.fogVersion === '$VER1'"
if f 1 name publish -m two "$C2" >"$work/pub2.out" 2>"$work/pub2.err"; then
    ok "fog publishes version 2"
else
    fail "fog name publish v2: $(first_line "$work/pub2.err")"
fi
helia_cmd H 90 ipns-resolve "$NAME" 60000 >"$work/h_res2.json"
check "helia resolves the new version (sequence 1)" "$work/h_res2.json" \
    "j.ok === true && j.value === '/ipfs/$C2' && j.sequence === '1'"

# --- (2) helia publishes, fog resolves ---------------------------------------------------------
SEED=$(printf '%064x' 6)
helia_cmd H 90 ipns-publish "$SEED" "/ipfs/$C1" 60000 >"$work/h_pub.json"
check "helia puts a record made by the npm ipns package into the DHT" "$work/h_pub.json" \
    "j.ok === true"
JNAME=$(jsq "$work/h_pub.json" 'j.name || ""')
if f 3 name resolve --nocache "$JNAME" >"$work/f_res.out" 2>"$work/f_res.err"; then
    if [ "$(cat "$work/f_res.out")" = "/ipfs/$C1" ]; then
        ok "fog resolves helia's name through the DHT"
    else
        fail "fog resolved helia's name to $(cat "$work/f_res.out")"
    fi
else
    fail "fog name resolve of helia's name: $(first_line "$work/f_res.err")"
fi
if f 3 log "$JNAME" >"$work/f_log.out" 2>"$work/f_log.err"; then
    fail "fog log of a name without fog history should fail"
else
    if grep -q "no fog version history" "$work/f_log.err"; then
        ok "fog log explains a name without history"
    else
        fail "fog log error: $(first_line "$work/f_log.err")"
    fi
fi
summary
