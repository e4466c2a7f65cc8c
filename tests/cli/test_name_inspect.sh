#!/usr/bin/env bash
# test_name_inspect.sh: `fog name inspect` and `fog dht get|put` on records fog made itself
# (`fog name publish`, offline, with keys of the repository). Inspect prints the fields (value,
# sequence, signatures, FogVersion as an extra key and as the version node fog printed) and with
# --verify tells valid from invalid with a reason by kind: expired (published with a 1 s
# lifetime), bad signature (a byte of the signed Value changed; the record checked as another
# key's name), a V1 field that differs (the unsigned copy of the value changed), lower sequence
# (--compare with the next publication), too large (10241 bytes, also from stdin), malformed,
# empty; bad command lines exit 2. Offline `dht put` stores and `dht get` returns the same
# bytes, a lower sequence is refused; then the same through a daemon's /api/v0/routing/get|put.
# (Records from other implementations, and a wrong key in the pubKey field, are in
# tests/interop/test_ipns.sh.)
source "$(dirname "$0")/lib.sh"

PIDS=()
trap daemons_cleanup EXIT

expect_ok "init" "$FOG" init
for c in "name inspect" "dht get" "dht put"; do
  expect_ok "$c --help" "$FOG" $c --help
  grep -q "^usage: fog $c" "$T/out" && ok || bad "$c --help shows usage"
done
echo "one" >"$T/one.txt"
echo "two" >"$T/two.txt"
C1=$("$FOG" add -Q "$T/one.txt")
C2=$("$FOG" add -Q "$T/two.txt")
K=$("$FOG" key gen k)
K2=$("$FOG" key gen k2)
case "$K" in k51*) ok ;; *) bad "key gen prints a k51 name: $K" ;; esac

expect_ok "publish 1" "$FOG" name publish --key k -m one "$C1"
V1=$(sed -n 's/^version 1 (\([a-z0-9]*\)).*/\1/p' "$T/err")
expect_ok "dht get offline" "$FOG" dht get "/ipns/$K"
cp "$T/out" "$T/rec1"
grep -q "^offline: " "$T/err" && ok || bad "offline get says so on stderr"
expect_ok "publish 2" "$FOG" name publish --key k -m two "$C2"
V2=$(sed -n 's/^version 2 (\([a-z0-9]*\)).*/\1/p' "$T/err")
"$FOG" dht get "/ipns/$K" >"$T/rec2" 2>/dev/null || bad "dht get of version 2"
cmp -s "$T/rec1" "$T/rec2" && bad "a new publication changes the record" || ok

# --- fields -------------------------------------------------------------------------------------
expect_ok "inspect FILE" "$FOG" name inspect "$T/rec2"
grep -qx "Value:         \"/ipfs/$C2\"" "$T/out" && ok || bad "Value line: $(grep Value "$T/out")"
grep -qx 'Validity Type: "EOL"' "$T/out" && ok || bad "Validity Type line"
grep -qx "Sequence:      1" "$T/out" && ok || bad "Sequence line: $(grep Sequence "$T/out")"
grep -qx "TTL:           300000000000" "$T/out" && ok || bad "TTL line (5 min in ns)"
grep -qx "Signature V1:  present, 64 bytes" "$T/out" && ok || bad "Signature V1 line"
grep -qx "Signature V2:  present, 64 bytes" "$T/out" && ok || bad "Signature V2 line"
grep -qx "PublicKey:     absent (the name inlines its key)" "$T/out" && ok || bad "PublicKey line"
grep -qx "Extra Keys:    FogVersion" "$T/out" && ok || bad "Extra Keys line"
grep -qx "Fog Version:   $V2" "$T/out" && ok || bad "Fog Version is version 2's node ($V2)"
grep -q '^Data:          {"FogVersion":' "$T/out" && ok || bad "Data as DAG-JSON"
grep -qx "This record was not validated." "$T/out" && ok || bad "not validated without --verify"
expect_ok "inspect from stdin" sh -c 'exec "$0" name inspect <"$1"' "$FOG" "$T/rec2"
grep -qx "Sequence:      1" "$T/out" && ok || bad "stdin gives the same fields"

# --- validation ---------------------------------------------------------------------------------
expect_ok "verify valid" "$FOG" name inspect --verify "$K" "$T/rec2"
grep -qP '^\tValid: +true$' "$T/out" && ok || bad "Valid: true"
grep -qP "^\tName: +$K$" "$T/out" && ok || bad "Name line"
expect_ok "verify /ipns/NAME" "$FOG" name inspect --verify "/ipns/$K" "$T/rec2"

# verify_fails DESC PATTERN ARGS...: exit 1, Valid: false, a Reason matching PATTERN.
verify_fails() {
  local desc=$1 pat=$2 rc
  shift 2
  "$FOG" name inspect "$@" >"$T/out" 2>"$T/err"
  rc=$?
  if [ "$rc" -ne 1 ]; then
    bad "$desc: exit $rc"
  elif ! grep -qP '^\tValid: +false$' "$T/out" || ! grep -qP "^\tReason: +$pat" "$T/out"; then
    bad "$desc: $(grep -P '^\t(Valid|Reason)' "$T/out" | tr '\n\t' '  ')"
  else
    ok
  fi
}
verify_fails "another key's name" "bad signature" --verify "$K2" "$T/rec2"
verify_fails "lower sequence" "lower sequence: 0 < 1" --verify "$K" --compare "$T/rec2" "$T/rec1"
expect_ok "higher sequence with --compare" "$FOG" name inspect --verify "$K" --compare "$T/rec1" \
  "$T/rec2"

# The Value bytes occur twice: the unsigned V1 copy first, the signed data's last.
HEX=$(printf '/ipfs/%s' "$C2" | xxd -p | tr -d '\n')
BADHEX=$(printf '/ipfs/%s' "$C1" | xxd -p | tr -d '\n')
xxd -p "$T/rec2" | tr -d '\n' >"$T/rec2.hex"
sed "s/$HEX/$BADHEX/" "$T/rec2.hex" | xxd -r -p >"$T/v1.rec"
sed "s/\(.*\)$HEX/\1$BADHEX/" "$T/rec2.hex" | xxd -r -p >"$T/data.rec"
cmp -s "$T/v1.rec" "$T/rec2" && bad "V1 value patched" || ok
cmp -s "$T/data.rec" "$T/rec2" && bad "data value patched" || ok
verify_fails "changed signed Value" "bad signature: .*signatureV2 does not verify" \
  --verify "$K" "$T/data.rec"
verify_fails "changed V1 value" "bad signature: .*V1 field differs" --verify "$K" "$T/v1.rec"

expect_ok "publish with a 1 s lifetime" "$FOG" name publish --key k2 --lifetime 1s "$C1"
"$FOG" dht get "/ipns/$K2" >"$T/short.rec" 2>/dev/null || bad "dht get k2"
sleep 1.2
verify_fails "expired" "expired: IPNS record: expired at " --verify "$K2" "$T/short.rec"

# --- input errors -------------------------------------------------------------------------------
{ cat "$T/rec2"; head -c 10240 /dev/zero; } >"$T/big.rec"
expect_fail "too large" "^error: .*too large: more than 10240 bytes" \
  "$FOG" name inspect --verify "$K" "$T/big.rec"
expect_fail "too large from stdin" "^error: standard input: too large" \
  sh -c 'exec "$0" name inspect <"$1"' "$FOG" "$T/big.rec"
head -c 10240 /dev/zero >"$T/zero.rec"
expect_fail "10240 zero bytes are malformed, not too large" "^error: IPNS record" \
  "$FOG" name inspect "$T/zero.rec"
: >"$T/empty.rec"
expect_fail "empty" "^error: .*empty" "$FOG" name inspect "$T/empty.rec"
expect_fail "missing file" "^error: cannot read" "$FOG" name inspect "$T/none.rec"
expect_fail "bad name" "^error: invalid peer ID" "$FOG" name inspect --verify nonsense "$T/rec2"
for c in "name inspect --compare $T/rec1 $T/rec2" "name inspect $T/rec1 $T/rec2" "dht get" \
         "dht put" "dht get /ipns/$K x"; do
  "$FOG" $c >/dev/null 2>&1
  same "$c: bad usage exits 2" "$?" 2
done
expect_fail "dht get of a non-/ipns key" "^error: invalid key .*/ipns/NAME" "$FOG" dht get "$K"
expect_fail "dht get of a bad name" "^error: invalid peer ID" "$FOG" dht get /ipns/nonsense

# --- dht put / get offline ----------------------------------------------------------------------
expect_fail "offline put of a lower sequence" "^error: can't replace a newer value" \
  "$FOG" dht put "/ipns/$K" "$T/rec1"
expect_fail "offline put of a tampered record" "^error: invalid record: .*signatureV2" \
  "$FOG" dht put "/ipns/$K" "$T/data.rec"
expect_fail "offline put under another name" "^error: invalid record" \
  "$FOG" dht put "/ipns/$K2" "$T/rec2"
R2=$T/repo2
expect_ok "init repo2" "$FOG" --repo "$R2" init
expect_ok "offline put into repo2" "$FOG" --repo "$R2" dht put "/ipns/$K" "$T/rec2"
grep -q "^offline: " "$T/err" && ok || bad "offline put says so on stderr"
grep -qx "12D3KooW[1-9A-HJ-NP-Za-km-z]*" "$T/out" && ok || bad "put prints the peer ID: $(cat "$T/out")"
expect_ok "offline get from repo2" "$FOG" --repo "$R2" dht get "/ipns/$K"
cmp -s "$T/out" "$T/rec2" && ok || bad "repo2 gives the same bytes back"
expect_fail "offline get of an unknown name" "^error: routing: not found" \
  "$FOG" --repo "$R2" dht get "/ipns/$K2"

# --- through a daemon ---------------------------------------------------------------------------
start_daemon "$T/repo2" || { finish; exit 1; }
expect_ok "daemon get" "$FOG" --repo "$R2" dht get "/ipns/$K"
cmp -s "$T/out" "$T/rec2" && ok || bad "the daemon gives the same bytes"
grep -q "^offline" "$T/err" && bad "daemon get is not offline" || ok
expect_fail "daemon refuses a lower sequence" "can't replace a newer value" \
  "$FOG" --repo "$R2" dht put "/ipns/$K" "$T/rec1"
expect_fail "daemon refuses an expired record" "^error: invalid record: .*expired" \
  "$FOG" --repo "$R2" dht put "/ipns/$K2" "$T/short.rec"
expect_ok "daemon put of the stored record again" "$FOG" --repo "$R2" dht put "/ipns/$K" "$T/rec2"
grep -q "no peer accepted" "$T/err" && ok || bad "a lone daemon warns that no peer took it"
expect_fail "daemon get of an unknown name" "^error: routing: not found" \
  "$FOG" --repo "$R2" dht get "/ipns/$K2"
finish
