#!/usr/bin/env bash
# test_daemon.sh: fog daemon, its HTTP API and the network commands end to end on loopback: two
# daemons on two temporary repositories (listen and API on 127.0.0.1 port 0) find each other
# through swarm connect, list each other in swarm peers, ping, and show each other's identify;
# plus the errors: no daemon, a second daemon on one repository, bad addresses, a refused dial,
# GET and Origin on the API; and the lifecycle: the api file, offline commands beside the daemon,
# SIGTERM and /api/v0/shutdown ending with exit 0 and the api file removed.
source "$(dirname "$0")/lib.sh"

PIDS=()
trap daemons_cleanup EXIT

A=$T/a
B=$T/b
LOOP=/ip4/127.0.0.1/tcp/0


# json_field FILE KEY: the string value of "KEY" in fog's indented JSON output.
json_field() { sed -n "s/^ *\"$2\": \"\(.*\)\",\{0,1\}$/\1/p" "$1" | head -n 1; }

# Repositories, and the commands that need a daemon while none runs.
expect_ok "init a" "$FOG" --repo "$A" init
grep -q '"API": "/ip4/127.0.0.1/tcp/5001"' "$A/config" && ok || bad "config has Addresses.API"
grep -q '"/ip4/0.0.0.0/tcp/4001"' "$A/config" && ok || bad "config has Addresses.Swarm"
expect_ok "init b" "$FOG" --repo "$B" init
ID_A=$(sed -n 's/^ *"PeerID": "\(.*\)",\{0,1\}$/\1/p' "$A/config")
ID_B=$(sed -n 's/^ *"PeerID": "\(.*\)",\{0,1\}$/\1/p' "$B/config")
for c in "swarm peers" "swarm connect /ip4/127.0.0.1/tcp/1/p2p/$ID_B" "ping $ID_B" "id $ID_B"; do
  expect_fail "$c without a daemon" "^error: no daemon is running \(start one with 'fog daemon'\)$" \
    "$FOG" --repo "$A" $c
  [ "$(wc -l <"$T/err")" -eq 1 ] && ok || bad "$c without a daemon: one error line"
done
for c in daemon id "swarm connect" "swarm peers" ping; do
  expect_ok "$c --help" "$FOG" $c --help
  grep -q "^usage: fog $c" "$T/out" && ok || bad "$c --help shows usage"
done
expect_ok "id offline" "$FOG" --repo "$A" id
same "offline id is the repository's" "$(json_field "$T/out" ID)" "$ID_A"
KEY_A=$(json_field "$T/out" PublicKey)
case $KEY_A in CAESI*) ok ;; *) bad "offline PublicKey is an Ed25519 protobuf: $KEY_A" ;; esac
expect_fail "bad --listen" "invalid multiaddr" "$FOG" --repo "$A" daemon --listen /ip4/1.2.3/tcp/0
expect_fail "bad --log-level" "log-level" "$FOG" --repo "$A" daemon --log-level loud
printf '/ip4/127.0.0.1/tcp/1' >"$A/api"
expect_fail "stale api file" "no daemon is running" "$FOG" --repo "$A" swarm peers
rm -f "$A/api"

# Daemon A (with the test protocols, so B's view of its identify can be checked).
start_daemon "$A" --test-protocols || { finish; exit 1; }
PID_A=$DPID
grep -q "^peer ID: $ID_A$" "$A.out" && ok || bad "daemon prints its peer ID"
ADDR_A=$(sed -n "s|^listening on \(/ip4/127.0.0.1/tcp/[1-9][0-9]*/p2p/$ID_A\)$|\1|p" "$A.out")
[ -n "$ADDR_A" ] && ok || bad "daemon prints a listen address with a real port: $(cat "$A.out")"
API_A=$(cat "$A/api" 2>/dev/null)
[[ $API_A =~ ^/ip4/127\.0\.0\.1/tcp/[1-9][0-9]*$ ]] && ok || bad "api file holds the API address: $API_A"
grep -q "^API server listening on $API_A$" "$A.out" && ok || bad "daemon prints the API address"
expect_fail "second daemon on a repository" "a daemon is already running on $A" \
  "$FOG" --repo "$A" daemon --listen $LOOP --api $LOOP

expect_ok "id via the API" "$FOG" --repo "$A" id
same "id ID" "$(json_field "$T/out" ID)" "$ID_A"
same "id PublicKey" "$(json_field "$T/out" PublicKey)" "$KEY_A"
grep -q "\"$ADDR_A\"" "$T/out" && ok || bad "id lists the listen address: $(cat "$T/out")"
grep -q '"/ipfs/ping/1.0.0"' "$T/out" && ok || bad "id lists the ping protocol"
grep -q '"AgentVersion": "fog/' "$T/out" && ok || bad "id AgentVersion"

# Offline commands keep working beside the daemon.
printf 'beside the daemon' >"$T/f"
expect_ok "add while the daemon runs" "$FOG" --repo "$A" add -Q "$T/f"
CID=$(cat "$T/out")
expect_ok "cat while the daemon runs" "$FOG" --repo "$A" cat "$CID"
same "cat bytes" "$(cat "$T/out")" "beside the daemon"

# Daemon B connects to A.
start_daemon "$B" || { finish; exit 1; }
PID_B=$DPID
expect_ok "swarm connect" "$FOG" --repo "$B" swarm connect "$ADDR_A"
same "swarm connect output" "$(cat "$T/out")" "connect $ID_A success"
expect_ok "swarm peers on b" "$FOG" --repo "$B" swarm peers
grep -qE "^/ip4/127\.0\.0\.1/tcp/[0-9]+/p2p/$ID_A$" "$T/out" && ok || bad "b lists a: $(cat "$T/out")"
seen=no
for _ in $(seq 50); do
  "$FOG" --repo "$A" swarm peers >"$T/out" 2>"$T/err" || true
  if grep -qE "^/ip4/127\.0\.0\.1/tcp/[0-9]+/p2p/$ID_B$" "$T/out"; then seen=yes; break; fi
  sleep 0.1
done
same "a lists b" "$seen" yes

# Ping: three answers, each printed, then the average.
expect_ok "ping -n 3" "$FOG" --repo "$B" ping -n 3 --interval 100 "$ID_A"
head -n 1 "$T/out" | grep -q "^PING $ID_A\.$" && ok || bad "ping first line: $(head -n 1 "$T/out")"
same "three pongs" "$(grep -cE '^Pong received: time=[0-9]+\.[0-9]+ ms$' "$T/out")" 3
grep -qE "^Average latency: [0-9]+\.[0-9]+ms$" "$T/out" && ok || bad "ping average: $(cat "$T/out")"
expect_ok "ping a connected peer by multiaddr" "$FOG" --repo "$A" ping -n 1 "$(sed -n "s|^listening on ||p" "$B.out" | head -n 1)"

# B's view of A's identify (A serves the test protocols; it may take a moment to arrive).
got=no
for _ in $(seq 50); do
  if "$FOG" --repo "$B" id "$ID_A" >"$T/out" 2>"$T/err" && grep -q '"/fog/echo/1.0.0"' "$T/out"; then
    got=yes; break
  fi
  sleep 0.1
done
same "id PEER shows the peer's protocols" "$got" yes
same "id PEER ID" "$(json_field "$T/out" ID)" "$ID_A"
same "id PEER PublicKey" "$(json_field "$T/out" PublicKey)" "$KEY_A"
grep -q '"AgentVersion": "fog/' "$T/out" && ok || bad "id PEER AgentVersion"

# Errors through the API.
OTHER=12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN
expect_fail "ping a peer not connected" "not connected" "$FOG" --repo "$B" ping -n 1 "$OTHER"
expect_fail "id of a peer not connected" "not connected" "$FOG" --repo "$B" id "$OTHER"
expect_fail "connect refused" "^error: connect $OTHER failure: .*refused" \
  "$FOG" --repo "$B" swarm connect "/ip4/127.0.0.1/tcp/1/p2p/$OTHER"
expect_fail "bad multiaddr" "^error: invalid multiaddr" "$FOG" --repo "$B" swarm connect /ip4/300.1.1.1/tcp/1
expect_fail "bad peer ID" "^error: invalid peer ID" "$FOG" --repo "$B" ping nonsense
"$FOG" --repo "$B" ping -n x "$ID_A" >/dev/null 2>&1
same "bad ping count is a usage error" "$?" 2
"$FOG" --repo "$B" swarm connect >/dev/null 2>&1
same "swarm connect without address is a usage error" "$?" 2

if command -v curl >/dev/null; then
  URL="http://127.0.0.1:${API_A##*/}/api/v0"
  same "GET is refused" "$(curl -s -o "$T/body" -w '%{http_code}' "$URL/version")" 405
  grep -q '"Type":"error"' "$T/body" && ok || bad "405 body is a JSON error"
  same "Origin is refused" \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Origin: http://example.com' "$URL/version")" 403
  same "POST version" "$(curl -s -o "$T/body" -w '%{http_code}' -X POST "$URL/version")" 200
  grep -q '"Version":"0.1.0"' "$T/body" && ok || bad "version body: $(cat "$T/body")"
  same "unknown endpoint" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/bogus")" 404
  same "bad argument is 400" \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/swarm/connect?arg=nonsense")" 400
else
  echo "skip: curl is not installed; the raw HTTP checks (GET, Origin) did not run"
fi

# Shutdown: SIGTERM for A, /api/v0/shutdown (through curl, else SIGINT) for B.
kill -TERM "$PID_A"
wait "$PID_A"
same "SIGTERM exits 0" "$?" 0
[ ! -e "$A/api" ] && ok || bad "api file removed at shutdown"
expect_fail "no daemon after shutdown" "no daemon is running" "$FOG" --repo "$A" swarm peers
if command -v curl >/dev/null; then
  curl -s -X POST "http://127.0.0.1:$(cut -d/ -f5 <"$B/api")/api/v0/shutdown" >/dev/null
else
  kill -INT "$PID_B"
fi
wait "$PID_B"
same "shutdown exits 0" "$?" 0
[ ! -e "$B/api" ] && ok || bad "b's api file removed at shutdown"
PIDS=()
finish
