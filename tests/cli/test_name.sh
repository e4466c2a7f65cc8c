#!/usr/bin/env bash
# test_name.sh: names with a history. Offline: `fog name publish` of two versions of a folder
# under a key (record and version nodes stored, the newest version pinned, the older unpinned),
# `fog name resolve` by key name and by k51 name, `fog log` newest first with messages,
# `fog cat|ls|get NAME@N/path` and /ipns/NAME/path, `fog diff NAME@1 NAME@2` (changed, added,
# removed, a folder listed once, only differing folders read), gc keeping every version through
# the newest version node's pin, republishing the same content
# (no new version), publishing an old version again (a new version), and the errors: unknown
# key, no such version, a name nobody published, bad durations, too long a message. Then three
# daemons on loopback (1 bootstraps 2 and 3): daemon 2 publishes with a 1 s TTL, daemon 3
# resolves the name through the DHT, daemon 2 publishes a second version, daemon 3 resolves the
# new one once the TTL passed and `fog log` on daemon 3 (its version nodes fetched over
# bitswap) shows both versions; a record published offline is put into the DHT by the
# republisher when the daemon starts.
source "$(dirname "$0")/lib.sh"

PIDS=()
trap daemons_cleanup EXIT

peer_id() { sed -n 's/^ *"PeerID": "\(.*\)",\{0,1\}$/\1/p' "$1/config"; }
listen_addr() { sed -n "s|^listening on \(/ip4/127.0.0.1/tcp/[1-9][0-9]*/p2p/.*\)$|\1|p" "$1.out"; }

for c in "name publish" "name resolve" "log" "diff"; do
  expect_ok "$c --help" "$FOG" $c --help
  grep -q "^usage: fog $c" "$T/out" && ok || bad "$c --help shows usage"
done

# --- Offline ------------------------------------------------------------------------------------
R=$T/r
expect_ok "init" "$FOG" --repo "$R" init
expect_ok "key gen docs" "$FOG" --repo "$R" key gen docs
NAME=$(cat "$T/out")
mkdir -p "$T/d/sub" "$T/d/old"
echo one >"$T/d/a.txt"
echo two >"$T/d/sub/b.txt"
echo gone >"$T/d/old/x.txt"
expect_ok "add v1" "$FOG" --repo "$R" add -r -Q "$T/d"
V1=$(tail -1 "$T/out")
expect_ok "publish v1" "$FOG" --repo "$R" name publish --key docs -m "first draft" "/ipfs/$V1"
same "kubo's publish line" "$(cat "$T/out")" "Published to $NAME: /ipfs/$V1"
echo ONE >"$T/d/a.txt"
echo three >"$T/d/sub/c.txt"
rm -r "$T/d/old"
expect_ok "add v2" "$FOG" --repo "$R" add -r -Q "$T/d"
V2=$(tail -1 "$T/out")
expect_ok "publish v2 by bare CID" "$FOG" --repo "$R" name publish -k docs -m second "$V2"
same "v2 published" "$(cat "$T/out")" "Published to $NAME: /ipfs/$V2"
expect_ok "resolve by key name" "$FOG" --repo "$R" name resolve docs
same "resolves to v2" "$(cat "$T/out")" "/ipfs/$V2"
expect_ok "resolve by /ipns/k51" "$FOG" --repo "$R" name resolve "/ipns/$NAME"
same "same by IPNS name" "$(cat "$T/out")" "/ipfs/$V2"
expect_ok "resolve docs@1" "$FOG" --repo "$R" name resolve docs@1
same "version 1's root" "$(cat "$T/out")" "/ipfs/$V1"
expect_ok "log" "$FOG" --repo "$R" log docs
same "two versions" "$(wc -l <"$T/out")" 2
same "newest first" "$(awk '{print $1, $4}' "$T/out" | tr '\n' ' ')" "2 /ipfs/$V2 1 /ipfs/$V1 "
grep -q "  first draft$" "$T/out" && ok || bad "log shows the message: $(cat "$T/out")"
HEAD2=$(awk 'NR==1 {print $2}' "$T/out")
HEAD1=$(awk 'NR==2 {print $2}' "$T/out")
expect_ok "pin ls" "$FOG" --repo "$R" pin ls
grep -q "^$HEAD2 recursive" "$T/out" && ok || bad "newest version node pinned recursively"
grep -q "^$HEAD1" "$T/out" && bad "older version node still pinned" || ok
expect_ok "cat docs@1/a.txt" "$FOG" --repo "$R" cat docs@1/a.txt
same "old content" "$(cat "$T/out")" "one"
expect_ok "cat /ipns/NAME/a.txt" "$FOG" --repo "$R" cat "/ipns/$NAME/a.txt"
same "new content" "$(cat "$T/out")" "ONE"
expect_ok "ls docs@1" "$FOG" --repo "$R" ls docs@1
grep -q "old" "$T/out" && ok || bad "ls of version 1 lists old/"
(cd "$T" && "$FOG" --repo "$R" get -o got1 docs@1 >/dev/null 2>&1) && ok || bad "get docs@1"
same "get docs@1 wrote version 1" "$(cat "$T/got1/old/x.txt" 2>/dev/null)" "gone"
expect_ok "diff" "$FOG" --repo "$R" diff --stats docs@1 docs@2
same "diff lines" "$(cat "$T/out")" "$(printf 'changed  a.txt\nremoved  old/\nadded    sub/c.txt')"
grep -q "3 changes, 5 blocks read" "$T/err" && ok || bad "diff read only the differing folders (both roots, both sub/, the removed old/ to tell it is a folder): $(cat "$T/err")"
expect_ok "diff of equal versions" "$FOG" --repo "$R" diff --stats docs@2 "/ipfs/$V2"
same "no changes" "$(cat "$T/out")" ""
grep -q "0 changes, 0 blocks read" "$T/err" && ok || bad "equal roots read nothing"
expect_ok "unpin the folders" "$FOG" --repo "$R" pin rm "$V1" "$V2"
expect_ok "gc" "$FOG" --repo "$R" gc
expect_ok "cat docs@1 after gc" "$FOG" --repo "$R" cat docs@1/old/x.txt
same "the history's pin keeps old versions" "$(cat "$T/out")" "gone"
expect_ok "publish v2 again" "$FOG" --repo "$R" name publish -k docs "/ipfs/$V2"
expect_ok "log" "$FOG" --repo "$R" log docs
same "same content, no new version" "$(wc -l <"$T/out")" 2
expect_ok "publish docs@1 again" "$FOG" --repo "$R" name publish -k docs -m revert docs@1
expect_ok "log" "$FOG" --repo "$R" log docs
same "revert is version 3" "$(awk 'NR==1 {print $1, $4}' "$T/out")" "3 /ipfs/$V1"

expect_ok "key gen plain" "$FOG" --repo "$R" key gen plain
expect_ok "publish without a message" "$FOG" --repo "$R" name publish -k plain "/ipfs/$V2"
expect_ok "log of a version without a message" "$FOG" --repo "$R" log plain
same "one version, no message (N CID TIME ROOT SIZE UNIT)" \
  "$(awk '{print $1, $4, NF}' "$T/out")" "1 /ipfs/$V2 6"
expect_fail "unknown key" "^error: .*nokey" "$FOG" --repo "$R" name publish -k nokey "$V1"
expect_fail "no version 9" "^error: version 9 not found" "$FOG" --repo "$R" cat docs@9/a.txt
expect_fail "version 0" "^error: .*number from 1" "$FOG" --repo "$R" cat docs@0/a.txt
expect_fail "unpublished name" "^error: could not resolve" "$FOG" --repo "$R" name resolve self
expect_fail "neither name nor key" "^error: .*neither an IPNS name nor a local key" \
  "$FOG" --repo "$R" name resolve nosuchkey
expect_fail "bad lifetime" "^error: --lifetime: .*duration" \
  "$FOG" --repo "$R" name publish --lifetime soon "$V1"
expect_fail "long message" "^error: the message is longer than 1024 bytes" \
  "$FOG" --repo "$R" name publish -m "$(head -c 1100 /dev/zero | tr '\0' x)" "$V1"
expect_fail "content not local" "^error: " \
  "$FOG" --repo "$R" name publish bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy

# --- Three daemons ------------------------------------------------------------------------------
for i in 1 2 3; do
  expect_ok "init $i" "$FOG" --repo "$T/n$i" init
done
start_daemon "$T/n1" || { finish; exit 1; }
ADDR1=$(listen_addr "$T/n1")
for i in 2 3; do
  expect_ok "bootstrap add on $i" "$FOG" --repo "$T/n$i" bootstrap add "$ADDR1"
done
# Daemon 2 has a record published offline before it starts: the republisher puts it out.
echo "early" >"$T/early.txt"
expect_ok "add early" "$FOG" --repo "$T/n2" add -Q "$T/early.txt"
E=$(tail -1 "$T/out")
expect_ok "key on 2" "$FOG" --repo "$T/n2" key gen early
EN=$(cat "$T/out")
expect_ok "offline publish on 2" "$FOG" --repo "$T/n2" name publish -k early "$E"
for i in 2 3; do
  start_daemon "$T/n$i" --republish-interval 2s || { finish; exit 1; }
  for _ in $(seq 200); do
    grep -q "dht: bootstrapped from 1 peers" "$T/n$i.err" && break
    sleep 0.1
  done
done
ok_early=0
for _ in $(seq 100); do
  if "$FOG" --repo "$T/n3" name resolve --nocache "$EN" >"$T/out" 2>"$T/err" &&
     [ "$(cat "$T/out")" = "/ipfs/$E" ]; then ok_early=1; break; fi
  sleep 0.2
done
[ $ok_early = 1 ] && ok || bad "offline record republished into the DHT: $(cat "$T/err")"

echo "version one" >"$T/f.txt"
expect_ok "add on 2" "$FOG" --repo "$T/n2" add -Q "$T/f.txt"
F1=$(tail -1 "$T/out")
expect_ok "publish on 2" "$FOG" --repo "$T/n2" name publish --ttl 1s -m one "$F1"
N2=$(sed -n 's/^Published to \([^:]*\): .*/\1/p' "$T/out")
same "self is the node's name" "$N2" "$("$FOG" --repo "$T/n2" key list -l | awk '$2 == "self" {print $1}')"
expect_ok "resolve on 3 through the DHT" "$FOG" --repo "$T/n3" name resolve "$N2"
same "daemon 3 resolves v1" "$(cat "$T/out")" "/ipfs/$F1"
expect_ok "cat on 3 through the name" "$FOG" --repo "$T/n3" cat "/ipns/$N2"
same "content of v1" "$(cat "$T/out")" "version one"
echo "version two" >"$T/f.txt"
expect_ok "add v2 on 2" "$FOG" --repo "$T/n2" add -Q "$T/f.txt"
F2=$(tail -1 "$T/out")
expect_ok "publish v2 on 2" "$FOG" --repo "$T/n2" name publish --ttl 1s -m two "$F2"
sleep 1.2
expect_ok "resolve on 3 after the TTL" "$FOG" --repo "$T/n3" name resolve "$N2"
same "daemon 3 resolves v2" "$(cat "$T/out")" "/ipfs/$F2"
expect_ok "log on 3" "$FOG" --repo "$T/n3" log "$N2"
same "log on 3 lists both" "$(awk '{print $1, $4, $NF}' "$T/out" | tr '\n' ' ')" \
  "2 /ipfs/$F2 two 1 /ipfs/$F1 one "
expect_ok "cat v1 on 3" "$FOG" --repo "$T/n3" cat "$N2@1"
same "old version through the history" "$(cat "$T/out")" "version one"

finish
