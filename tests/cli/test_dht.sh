#!/usr/bin/env bash
# test_dht.sh: fog bootstrap list|add|rm on the config file (validation, duplicates, --all, a
# repository made before the Bootstrap key, errors and exit codes), and the DHT of fog daemon end
# to end on loopback: five daemons, daemons 2-5 with daemon 1 alone in their Bootstrap list;
# daemon 5 then finds daemon 3's address with `fog dht findpeer` although nobody dialled daemon 3
# by hand; a peer nobody knows is "routing: not found". Providers: `fog add` beside daemon 2
# announces the file, and daemon 5 finds daemon 2 with `fog dht findprovs` (-n 1 stops at one);
# a block put beside daemon 4 is announced with `fog dht provide` and found from daemon 3; a
# block no repository has is "not found locally"; `fog dht query` lists daemons' peer IDs.
# --no-dht turns routing off (and `fog add` beside it stays silent); bad arguments and no
# daemon are one-line errors.
source "$(dirname "$0")/lib.sh"

PIDS=()
trap daemons_cleanup EXIT

LOOP=/ip4/127.0.0.1/tcp/0

peer_id() { sed -n 's/^ *"PeerID": "\(.*\)",\{0,1\}$/\1/p' "$1/config"; }
listen_addr() { sed -n "s|^listening on \(/ip4/127.0.0.1/tcp/[1-9][0-9]*/p2p/.*\)$|\1|p" "$1.out"; }

# --- fog bootstrap, offline ---------------------------------------------------------------------
R=$T/r
expect_ok "init" "$FOG" --repo "$R" init
grep -q '"Bootstrap": \[\]' "$R/config" && ok || bad "init writes an empty Bootstrap list"
ID_R=$(peer_id "$R")
for c in "bootstrap list" "bootstrap add" "bootstrap rm" "dht findpeer" "dht findprovs" \
         "dht provide" "dht query"; do
  expect_ok "$c --help" "$FOG" $c --help
  grep -q "^usage: fog $c" "$T/out" && ok || bad "$c --help shows usage"
done
expect_ok "list empty" "$FOG" --repo "$R" bootstrap list
same "empty list prints nothing" "$(cat "$T/out")" ""

X=/ip4/127.0.0.1/tcp/4001/p2p/$ID_R
Y=/ip6/::1/tcp/4002/p2p/$ID_R
expect_ok "add X" "$FOG" --repo "$R" bootstrap add $X
same "add prints the address" "$(cat "$T/out")" "added $X"
expect_ok "add X again, and Y" "$FOG" --repo "$R" bootstrap add $X $Y
expect_ok "list X Y" "$FOG" --repo "$R" bootstrap list
same "duplicates are ignored" "$(cat "$T/out")" "$(printf '%s\n%s' "$X" "$Y")"
expect_ok "legacy /ipfs is stored as /p2p" "$FOG" --repo "$R" bootstrap add \
  /ip4/127.0.0.1/tcp/4001/ipfs/$ID_R
expect_ok "list" "$FOG" --repo "$R" bootstrap list
same "/ipfs form is the same address" "$(wc -l <"$T/out")" 2
same "config stays private" "$(stat -c %a "$R/config")" 600
expect_ok "offline id after edits" "$FOG" --repo "$R" id
grep -q "\"ID\": \"$ID_R\"" "$T/out" && ok || bad "identity survives bootstrap edits"
expect_ok "rm X" "$FOG" --repo "$R" bootstrap rm $X
same "rm prints the address" "$(cat "$T/out")" "removed $X"
expect_ok "rm an absent address" "$FOG" --repo "$R" bootstrap rm $X
expect_ok "list Y" "$FOG" --repo "$R" bootstrap list
same "rm left Y" "$(cat "$T/out")" "$Y"
expect_ok "add X" "$FOG" --repo "$R" bootstrap add $X
expect_ok "rm --all" "$FOG" --repo "$R" bootstrap rm --all
same "rm --all prints both" "$(wc -l <"$T/out")" 2
expect_ok "list after --all" "$FOG" --repo "$R" bootstrap list
same "list empty after --all" "$(cat "$T/out")" ""

expect_fail "add without /p2p" "^error: invalid bootstrap address .*/p2p" \
  "$FOG" --repo "$R" bootstrap add /ip4/127.0.0.1/tcp/4001
expect_fail "add a UDP address" "^error: invalid bootstrap address .*TCP" \
  "$FOG" --repo "$R" bootstrap add /ip4/127.0.0.1/udp/4001/p2p/$ID_R
expect_fail "add junk" "^error: invalid bootstrap address" "$FOG" --repo "$R" bootstrap add junk
expect_fail "rm junk" "^error: invalid bootstrap address" "$FOG" --repo "$R" bootstrap rm junk
expect_fail "add on no repository" "^error: no fog repository" \
  "$FOG" --repo "$T/none" bootstrap add $X
"$FOG" --repo "$R" bootstrap list >/dev/null 2>&1 && ok || bad "list exit 0"
for c in "bootstrap add" "bootstrap rm" "bootstrap rm --all $X" "bootstrap list $X" \
         "dht findpeer" "dht findprovs" "dht provide" "dht query" "dht query $ID_R $ID_R"; do
  "$FOG" --repo "$R" $c >/dev/null 2>"$T/err"
  same "$c: bad usage exits 2" "$?" 2
done
"$FOG" --repo "$R" bootstrap add junk >/dev/null 2>"$T/err"
same "bad address exits 1" "$?" 1
same "one error line" "$(wc -l <"$T/err")" 1
expect_fail "findpeer without a daemon" "^error: no daemon is running" \
  "$FOG" --repo "$R" dht findpeer "$ID_R"
expect_fail "findpeer of junk" "^error: " "$FOG" --repo "$R" dht findpeer nonsense
CIDX=bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku  # sha2-256 of "hello world"
expect_fail "findprovs without a daemon" "^error: no daemon is running" \
  "$FOG" --repo "$R" dht findprovs "$CIDX"
expect_fail "provide without a daemon" "^error: no daemon is running" \
  "$FOG" --repo "$R" dht provide "$CIDX"
expect_fail "query without a daemon" "^error: no daemon is running" \
  "$FOG" --repo "$R" dht query "$ID_R"
expect_fail "findprovs of junk" "^error: invalid CID" "$FOG" --repo "$R" dht findprovs junk
expect_fail "provide of junk" "^error: invalid CID" "$FOG" --repo "$R" dht provide "$CIDX" junk
expect_fail "query of junk" "^error: " "$FOG" --repo "$R" dht query nonsense
expect_fail "findprovs -n 0" "^error: --num-providers" "$FOG" --repo "$R" dht findprovs -n 0 \
  "$CIDX"
echo "offline" >"$T/offline.txt"
expect_ok "add without a daemon" "$FOG" --repo "$R" add -Q "$T/offline.txt"
same "add without a daemon: nothing on stderr" "$(cat "$T/err")" ""

# A repository made before the Bootstrap key: an empty list, and add creates the key.
sed -i '/"Bootstrap": \[\],/d' "$R/config"
grep -q Bootstrap "$R/config" && bad "Bootstrap key removed for the test" || ok
expect_ok "list without the key" "$FOG" --repo "$R" bootstrap list
same "no key is an empty list" "$(cat "$T/out")" ""
expect_ok "add without the key" "$FOG" --repo "$R" bootstrap add $X
expect_ok "list" "$FOG" --repo "$R" bootstrap list
same "add made the key" "$(cat "$T/out")" "$X"

# --- Five daemons -------------------------------------------------------------------------------
for i in 1 2 3 4 5 6; do
  expect_ok "init $i" "$FOG" --repo "$T/d$i" init
done
start_daemon "$T/d1" || { finish; exit 1; }
ADDR1=$(listen_addr "$T/d1")
[ -n "$ADDR1" ] && ok || bad "daemon 1 prints a loopback listen address"
grep -q "dht:" "$T/d1.err" && bad "daemon 1 has no bootstrap peers: no dht line" || ok
for i in 2 3 4 5; do
  expect_ok "bootstrap add on $i" "$FOG" --repo "$T/d$i" bootstrap add "$ADDR1"
  start_daemon "$T/d$i" || { finish; exit 1; }
done
for i in 2 3 4 5; do
  for _ in $(seq 200); do
    grep -q "dht: bootstrapped from 1 peers, routing table [1-9]" "$T/d$i.err" && break
    sleep 0.1
  done
  grep -q "INFO daemon: dht: bootstrapped from 1 peers, routing table [1-9]" "$T/d$i.err" && ok ||
    bad "daemon $i bootstrapped: $(head -c 400 "$T/d$i.err")"
done
ID3=$(peer_id "$T/d3")
ADDR3=$(listen_addr "$T/d3")
expect_ok "findpeer 3 from 5" "$FOG" --repo "$T/d5" dht findpeer "$ID3"
grep -qx "${ADDR3%/p2p/*}" "$T/out" && ok ||
  bad "findpeer prints daemon 3's address ${ADDR3%/p2p/*}: $(cat "$T/out")"
grep -q "/p2p/" "$T/out" && bad "findpeer prints addresses without /p2p" || ok
expect_fail "findpeer of a peer nobody knows" "^error: routing: not found$" \
  "$FOG" --repo "$T/d5" dht findpeer "$(peer_id "$T/d6")"
same "not found: one error line" "$(wc -l <"$T/err")" 1
expect_fail "findpeer of ourselves" "^error: " "$FOG" --repo "$T/d5" dht findpeer \
  "$(peer_id "$T/d5")"

# --- Providers ---------------------------------------------------------------------------------
ID2=$(peer_id "$T/d2")
ID4=$(peer_id "$T/d4")
head -c 5000 /dev/urandom >"$T/f2.bin"
expect_ok "add beside daemon 2" "$FOG" --repo "$T/d2" add -Q "$T/f2.bin"
CID2=$(cat "$T/out")
same "the add announced without a warning" "$(cat "$T/err")" ""
expect_ok "findprovs from 5" "$FOG" --repo "$T/d5" dht findprovs "$CID2"
grep -qx "$ID2" "$T/out" && ok || bad "findprovs prints daemon 2's peer ID: $(cat "$T/out")"
same "findprovs: one provider" "$(wc -l <"$T/out")" 1
expect_ok "findprovs -n 1 from 3" "$FOG" --repo "$T/d3" dht findprovs -n 1 "$CID2"
same "findprovs -n 1 prints daemon 2" "$(cat "$T/out")" "$ID2"
expect_ok "findprovs of a CID nobody has" "$FOG" --repo "$T/d5" dht findprovs "$CIDX"
same "nobody provides it: nothing printed" "$(cat "$T/out")" ""
expect_fail "findprovs of junk (daemon)" "^error: invalid CID" \
  "$FOG" --repo "$T/d5" dht findprovs nonsense

head -c 3000 /dev/urandom >"$T/b4.bin"
expect_ok "block put beside daemon 4" "$FOG" --repo "$T/d4" block put "$T/b4.bin"
CID4=$(cat "$T/out")
expect_ok "findprovs before provide" "$FOG" --repo "$T/d3" dht findprovs "$CID4"
same "a block put is not announced" "$(cat "$T/out")" ""
expect_ok "provide on 4" "$FOG" --repo "$T/d4" dht provide "$CID4" "$CID4"
same "provide prints a line per CID" "$(cat "$T/out")" "$(printf 'provided %s\nprovided %s' \
  "$CID4" "$CID4")"
expect_ok "findprovs after provide" "$FOG" --repo "$T/d3" dht findprovs "$CID4"
same "findprovs finds daemon 4" "$(cat "$T/out")" "$ID4"
expect_fail "provide of a block that is not local" "not found locally, cannot provide" \
  "$FOG" --repo "$T/d4" dht provide "$CIDX"

expect_ok "query from 5" "$FOG" --repo "$T/d5" dht query "$ID3"
N=$(wc -l <"$T/out")
[ "$N" -ge 3 ] && ok || bad "query lists at least 3 peers: $(cat "$T/out")"
ALL_IDS=$(for i in 1 2 3 4 5; do peer_id "$T/d$i"; done)
while read -r line; do
  grep -qx "$line" <<<"$ALL_IDS" && ok || bad "query prints daemons' peer IDs, not \"$line\""
done <"$T/out"
grep -qx "$ID3" "$T/out" && ok || bad "query of daemon 3's ID lists daemon 3 (the closest)"
same "query: the closest first" "$(head -n 1 "$T/out")" "$ID3"

# --no-dht: no bootstrap although the list is set, and routing is off.
expect_ok "bootstrap add on 6" "$FOG" --repo "$T/d6" bootstrap add "$ADDR1"
start_daemon "$T/d6" --no-dht || { finish; exit 1; }
expect_fail "findpeer with --no-dht" "^error: routing: the DHT is off$" \
  "$FOG" --repo "$T/d6" dht findpeer "$ID3"
grep -q "dht:" "$T/d6.err" && bad "--no-dht: no bootstrap" || ok
expect_fail "findprovs with --no-dht" "^error: routing: the DHT is off$" \
  "$FOG" --repo "$T/d6" dht findprovs "$CIDX"
expect_fail "provide with --no-dht" "^error: routing: the DHT is off$" \
  "$FOG" --repo "$T/d6" dht provide "$CIDX"
expect_fail "query with --no-dht" "^error: routing: the DHT is off$" \
  "$FOG" --repo "$T/d6" dht query "$ID3"
expect_ok "add beside a --no-dht daemon" "$FOG" --repo "$T/d6" add -Q "$T/f2.bin"
same "add beside --no-dht: nothing on stderr" "$(cat "$T/err")" ""

# Shutdown: SIGTERM ends every daemon with exit 0.
for p in "${PIDS[@]}"; do
  kill -TERM "$p"
done
for p in "${PIDS[@]}"; do
  wait "$p"
  same "daemon $p exits 0 on SIGTERM" "$?" 0
done
PIDS=()
finish
