#!/usr/bin/env bash
# test_fetch.sh: content found and fetched across the network, end to end on loopback. Daemon A
# runs while `fog add` writes beside it (a 3 MiB file of random bytes and a folder with a
# subfolder); daemon B connects to A (fog swarm connect) and B's CLI reads what only A has:
# fog cat (bytes compared, and a range), fog ls (the same lines as on A), fog get of the file
# and of the folder (trees compared with diff -r), /api/v0/get's tar archive (untarred with
# tar and compared), all through B's daemon since B's repository
# starts empty; get leaves the blocks in B's repository (a second get works with the daemon
# gone). A reader that closes early and a daemon stopping under a waiting cat end cleanly. A
# CID nobody has fails with a timeout error naming it when --timeout is given; without a daemon
# the local not-found error comes with a hint. fog stats bw shows bitswap bytes.
source "$(dirname "$0")/lib.sh"

PIDS=()
trap daemons_cleanup EXIT

listen_addr() { sed -n "s|^listening on \(/ip4/127.0.0.1/tcp/[1-9][0-9]*/p2p/.*\)$|\1|p" "$1.out"; }

A=$T/a
B=$T/b
expect_ok "init A" "$FOG" --repo "$A" init
expect_ok "init B" "$FOG" --repo "$B" init
start_daemon "$A" --no-dht || { finish; exit 1; }
start_daemon "$B" --no-dht || { finish; exit 1; }

# Content added beside A's running daemon.
head -c 3145728 /dev/urandom >"$T/big.bin"
mkdir -p "$T/tree/sub"
echo "hello from the tree" >"$T/tree/a.txt"
head -c 300000 /dev/urandom >"$T/tree/sub/b.bin"
printf '' >"$T/tree/sub/empty"
expect_ok "add big beside the daemon" "$FOG" --repo "$A" add -Q "$T/big.bin"
BIG=$(cat "$T/out")
expect_ok "add tree" "$FOG" --repo "$A" add -r -Q "$T/tree"
TREE=$(cat "$T/out")
[ -n "$BIG" ] && [ -n "$TREE" ] && ok || bad "add printed the root CIDs"

# Without a connection B has nothing: a timeout naming the CID.
expect_fail "cat before connecting times out" "^error: .*$BIG.*(within|in time)" \
  "$FOG" --repo "$B" cat --timeout 1s "$BIG"

expect_ok "swarm connect B -> A" "$FOG" --repo "$B" swarm connect "$(listen_addr "$A")"

# cat: the whole file, then a range.
if "$FOG" --repo "$B" cat "$BIG" >"$T/big.out" 2>"$T/err"; then ok; else
  bad "cat through the daemon: $(head -c 400 "$T/err")"; fi
cmp -s "$T/big.bin" "$T/big.out" && ok || bad "cat bytes equal the added file"
expect_ok "cat a range" "$FOG" --repo "$B" cat --offset 1000000 --length 70000 "$BIG"
same "range bytes" "$(od -An -tx1 <"$T/out" | md5sum)" \
  "$(tail -c +1000001 "$T/big.bin" | head -c 70000 | od -An -tx1 | md5sum)"

# ls: the same lines as A's local listing.
expect_ok "ls on A (local)" "$FOG" --repo "$A" ls "$TREE"
cp "$T/out" "$T/ls.a"
expect_ok "ls on B (daemon)" "$FOG" --repo "$B" ls "$TREE"
same "ls lines equal" "$(cat "$T/out")" "$(cat "$T/ls.a")"
expect_ok "ls of a subfolder path" "$FOG" --repo "$B" ls "$TREE/sub"
same "subfolder entries" "$(awk '{print $3}' "$T/out" | tr '\n' ' ')" "b.bin empty "

# get: the folder (fetched into B's repository with a summary line, then exported locally).
expect_ok "get the folder" "$FOG" --repo "$B" get -o "$T/tree.out" "$TREE"
grep -q "^fetched [0-9]* blocks" "$T/err" && ok || bad "get prints a summary line: $(cat "$T/err")"
diff -r "$T/tree" "$T/tree.out" >/dev/null && ok || bad "get: the tree equals the added one"
expect_ok "get a file inside the folder" "$FOG" --repo "$B" get -o "$T/atxt.copy" "$TREE/a.txt"
cmp -s "$T/tree/a.txt" "$T/atxt.copy" && ok || bad "get of a path inside the folder"

# /api/v0/get: a tar archive (kubo's answer) of the folder and of the file.
API_B=$(sed -n 's|^/ip4/\(.*\)/tcp/\([0-9]*\)$|\1:\2|p' "$B/api")
mkdir "$T/untar"
if curl -sf -X POST "http://$API_B/api/v0/get?arg=$TREE" | tar -x -C "$T/untar" 2>"$T/err"; then
  ok; else bad "api get of the folder is a tar archive: $(head -c 300 "$T/err")"; fi
diff -r "$T/tree" "$T/untar/$TREE" >/dev/null && ok || bad "api get: the untarred tree is equal"
curl -sf -X POST "http://$API_B/api/v0/get?arg=$BIG" | tar -xO >"$T/big.tar.out" 2>"$T/err"
cmp -s "$T/big.bin" "$T/big.tar.out" && ok || bad "api get of the file: the bytes are equal"

# stats bw: bitswap bytes came in on B.
expect_ok "stats bw" "$FOG" --repo "$B" stats bw
grep -Eq "^/ipfs/bitswap" "$T/out" && ok || bad "stats bw lists bitswap: $(cat "$T/out")"
expect_ok "stats bw --proto" "$FOG" --repo "$B" stats bw --proto /ipfs/bitswap/1.2.0
awk '$1 == "/ipfs/bitswap/1.2.0"' "$T/out" | grep -q "MiB" && ok ||
  bad "bitswap brought MiBs in: $(cat "$T/out")"

# A CID nobody has (added to a repository no daemon serves): a timeout that names it.
expect_ok "init C" "$FOG" --repo "$T/c" init
head -c 5000 /dev/urandom >"$T/lonely.bin"
expect_ok "add to C" "$FOG" --repo "$T/c" add -Q "$T/lonely.bin"
MISSING=$(cat "$T/out")
expect_fail "cat of a missing CID" "^error: .*$MISSING.*(within|in time)" \
  "$FOG" --repo "$B" cat --timeout 1s "$MISSING"
expect_fail "get of a missing CID" "^error: .*$MISSING" \
  "$FOG" --repo "$B" get --timeout 1s -o "$T/missing.out" "$MISSING"
expect_fail "ls of a missing CID" "^error: .*$MISSING" \
  "$FOG" --repo "$B" ls --timeout 1s "$MISSING"

# A reader that leaves early (cat | head) ends the daemon's work; the daemon keeps serving.
same "cat | head" "$("$FOG" --repo "$B" cat "$BIG" 2>/dev/null | head -c 100 | wc -c)" 100
expect_ok "ls after an early close" "$FOG" --repo "$B" ls "$TREE"

# A cat waiting (no timeout) for a block nobody has when the daemon stops: it fails, and the
# daemon still exits 0.
"$FOG" --repo "$B" cat "$MISSING" >/dev/null 2>"$T/wait.err" &
CAT=$!
sleep 0.5
kill -TERM "$DPID" && wait "$DPID"
same "daemon B exits 0 with a cat waiting" "$?" 0
wait "$CAT" && bad "the waiting cat fails when the daemon stops" || ok

# Without B's daemon: what get fetched stays; what was never fetched is an error with a hint.
expect_ok "get again offline" "$FOG" --repo "$B" get -o "$T/tree.out2" "$TREE"
diff -r "$T/tree" "$T/tree.out2" >/dev/null && ok || bad "the fetched blocks stayed in B"
expect_fail "cat of a missing CID offline" "^error: .*$MISSING" \
  "$FOG" --repo "$B" cat "$MISSING"
grep -q "^hint: .*fog daemon" "$T/err" && ok || bad "offline: a hint to start the daemon"

finish
