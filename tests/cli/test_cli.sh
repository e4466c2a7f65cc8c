#!/usr/bin/env bash
# test_cli.sh: every CLI command end to end on a real repository, including its errors: an invalid
# CID, a missing block, a path that does not exist, no repository, a locked repository. Each error
# must be one clear line, a non-zero exit, and change nothing.
source "$(dirname "$0")/lib.sh"

expect_fail "add without a repository" "no fog repository" "$FOG" add /etc/hostname
expect_ok "init" "$FOG" init
grep -q "peer identity: 12D3KooW" "$T/out" && ok || bad "init prints the peer identity"
expect_fail "init twice" "already" "$FOG" init
[ "$(stat -c %a "$FOG_PATH/config")" = 600 ] && ok || bad "config is owner-only"

# --help everywhere.
for c in init add cat get ls "pin add" "pin rm" "pin ls" gc "block get" "block put" \
         "block stat" "block rm" "car export" "car import" "cid inspect" "repo stat" "repo verify"; do
  expect_ok "$c --help" "$FOG" $c --help
  grep -q "^usage: fog $c" "$T/out" && ok || bad "$c --help shows usage"
done
expect_ok "fog --help" "$FOG" --help
expect_fail "unknown command" "unknown command" "$FOG" frobnicate
expect_fail "unknown option" "unknown option --bogus" "$FOG" add --bogus x

# Known CIDs (PROTOCOLS.md worked examples).
printf 'hello world' > "$T/hello"
expect_ok "add hello" "$FOG" add -Q "$T/hello"
same "hello world v1" "$(cat "$T/out")" bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e
expect_ok "add hello v0" "$FOG" add -Q --cid-profile unixfs-v0-2015 "$T/hello"
same "hello world v0" "$(cat "$T/out")" Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD
expect_ok "cat hello" "$FOG" cat bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e
same "cat hello bytes" "$(cat "$T/out")" "hello world"
expect_ok "cat range" "$FOG" cat --offset 6 --length 3 Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD
same "cat range bytes" "$(cat "$T/out")" "wor"

# Standard input: the CID stands in for the missing name.
expect_ok "add stdin" sh -c "printf 'from a pipe' | '$FOG' add"
grep -qE "^added (bafk[a-z0-9]+) \1$" "$T/out" && ok || bad "stdin add names the entry by its CID: $(cat "$T/out")"

# A folder with a multi-block file, an empty file, an empty folder, UTF-8 names and a symlink.
mkdir -p "$T/src/sub/empty" "$T/src/ünï"
head -c 3000000 /dev/urandom > "$T/src/big.bin"
: > "$T/src/sub/zero"
echo "日本語" > "$T/src/ünï/名前.txt"
ln -s big.bin "$T/src/link"
expect_fail "folder without -r" "is a folder" "$FOG" add "$T/src"
expect_ok "add -r" "$FOG" add -r "$T/src"
root=$(tail -n 1 "$T/out" | awk '{print $2}')
tail -n 1 "$T/out" | grep -q " src$" && ok || bad "root printed last with the folder name"
grep -q "added .* src/sub/zero" "$T/out" && ok || bad "entries printed with relative paths"
expect_ok "only-hash agrees" "$FOG" add -r -Q --only-hash "$T/src"
same "only-hash root" "$(cat "$T/out")" "$root"
expect_ok "cat big" "$FOG" cat "$root/big.bin"
cmp -s "$T/out" "$T/src/big.bin" && ok || bad "cat of a multi-block file gives the bytes"
expect_ok "cat utf-8 path" "$FOG" cat "/ipfs/$root/ünï/名前.txt"
same "utf-8 file" "$(cat "$T/out")" "日本語"
expect_ok "cat offset" "$FOG" cat --offset 1048570 --length 20 "$root/big.bin"
cmp -s "$T/out" <(tail -c +1048571 "$T/src/big.bin" | head -c 20) && ok || bad "cat across a chunk edge"
expect_ok "ls" "$FOG" ls "$root"
grep -q " sub/$" "$T/out" && grep -q " big.bin$" "$T/out" && ok || bad "ls lists entries"
expect_ok "get" "$FOG" get -o "$T/out-dir" "$root"
diff -r --no-dereference "$T/src" "$T/out-dir" >/dev/null && ok || bad "get writes the folder back"
expect_fail "get onto existing" "already exists" "$FOG" get -o "$T/out-dir" "$root"
expect_fail "missing path" "not found|no such|does not exist" "$FOG" cat "$root/nope"
expect_fail "invalid CID" "invalid CID" "$FOG" cat bafyNOTACID
expect_fail "cat of a folder" "directory|folder" "$FOG" cat "$root"

# Pins, gc and blocks.
expect_ok "pin ls" "$FOG" pin ls
grep -q "$root recursive" "$T/out" && ok || bad "added root is pinned recursively"
echo "unpinned data" > "$T/loose"
expect_ok "add unpinned" "$FOG" add -Q --pin=false "$T/loose"
loose=$(cat "$T/out")
expect_ok "block stat" "$FOG" block stat "$loose"
grep -q "Size: 14" "$T/out" && ok || bad "block stat size"
expect_ok "gc" "$FOG" gc
expect_fail "gc removed unpinned" "not found|missing|not in" "$FOG" block get "$loose"
expect_ok "pinned survives gc" "$FOG" cat "$root/big.bin"
cmp -s "$T/out" "$T/src/big.bin" && ok || bad "pinned content intact after gc"
expect_ok "block put" "$FOG" block put "$T/hello"
same "block put CID" "$(cat "$T/out")" bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e
expect_ok "block get" "$FOG" block get bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e
same "block get bytes" "$(cat "$T/out")" "hello world"
expect_fail "block rm pinned" "pinned" "$FOG" block rm "$root"
expect_fail "block put bad dag-pb" "malformed|invalid|dag-pb" sh -c "printf '\377\377' | '$FOG' block put --cid-codec dag-pb"
expect_ok "pin rm" "$FOG" pin rm "$root"
expect_fail "pin rm again" "not pinned" "$FOG" pin rm "$root"
expect_ok "pin add again" "$FOG" pin add "$root"

# CAR round trip into a second repository.
expect_ok "car export" "$FOG" car export -o "$T/x.car" "$root"
expect_ok "car import" env FOG_PATH="$T/repo2" sh -c "'$FOG' init >/dev/null && '$FOG' car import '$T/x.car'"
expect_ok "cat from import" env FOG_PATH="$T/repo2" "$FOG" cat "$root/big.bin"
cmp -s "$T/out" "$T/src/big.bin" && ok || bad "CAR round trip gives the bytes"

# cid inspect needs no repository.
expect_ok "cid inspect" env FOG_PATH="$T/none" "$FOG" cid inspect Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD
grep -q "dag-pb" "$T/out" && grep -q "sha2-256" "$T/out" && grep -q "^base32 *bafy" "$T/out" && ok || bad "cid inspect fields"

# repo stat / verify, then corruption is found.
expect_ok "repo stat" "$FOG" repo stat
grep -q "^blocks:" "$T/out" && ok || bad "repo stat prints blocks"
expect_ok "repo verify" "$FOG" repo verify

# A locked repository: another process holds the write lock.
flock -x "$FOG_PATH/repo.lock" sleep 3 &
sleep 0.3
expect_fail "locked repo" "locked" "$FOG" add "$T/hello"
wait

finish
