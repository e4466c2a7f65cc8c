#!/usr/bin/env bash
# test_key.sh: `fog key gen|list|rm|rename|export|import` on a temporary repository: kubo's
# output shapes, owner-only files, errors that name the problem, and an export moved to a second
# repository (both as kubo's IPNS name of the same key).
. "$(dirname "$0")/lib.sh"

expect_ok "init" "$FOG" init
expect_ok "init b" "$FOG" --repo "$T/b" init
SELF=$("$FOG" key list -l | awk '$2 == "self" {print $1}')
case "$SELF" in k51*) ok ;; *) bad "self's IPNS name: \"$SELF\"" ;; esac
same "key list: self only" "$("$FOG" key list)" "self"

expect_ok "gen photos" "$FOG" key gen photos
PHOTOS=$(cat "$T/out")
case "$PHOTOS" in k51*) ok ;; *) bad "gen prints the IPNS name: \"$PHOTOS\"" ;; esac
expect_ok "gen docs" "$FOG" key gen docs
same "list: self first, then by name" "$("$FOG" key list | tr '\n' ' ')" "self docs photos "
same "list -l: ID NAME" "$("$FOG" key list -l | awk '$2 == "photos" {print $1}')" "$PHOTOS"
same "keystore mode" "$(stat -c %a "$FOG_PATH/keystore")" 700
for f in "$FOG_PATH"/keystore/*; do
  same "key file mode $(basename "$f")" "$(stat -c %a "$f")" 600
done

expect_fail "gen twice" "^error: a key called \"photos\" exists already$" "$FOG" key gen photos
expect_fail "gen self" "^error: \"self\" is the node's own key$" "$FOG" key gen self
expect_fail "gen a/b" "no spaces or '/'" "$FOG" key gen a/b
expect_fail "gen without a name" "missing argument" "$FOG" key gen
expect_fail "rm self" "^error: \"self\" is the node's own key$" "$FOG" key rm self
expect_fail "rm missing" "^error: no key called \"nope\"$" "$FOG" key rm nope

expect_ok "rename photos pics" "$FOG" key rename photos pics
same "rename output" "$(cat "$T/out")" "Key $PHOTOS renamed to pics"
expect_fail "rename onto docs" "exists already \(--force replaces it\)" "$FOG" key rename pics docs
same "list after rename" "$("$FOG" key list | tr '\n' ' ')" "self docs pics "

# export with a passphrase file, import elsewhere with the environment variable
echo "correct horse" >"$T/pass"
expect_ok "export pics" "$FOG" key export pics --passphrase-file "$T/pass" -o "$T/pics.key"
same "export file size" "$(stat -c %s "$T/pics.key")" 140
expect_fail "export over an existing file" "cannot create" \
  "$FOG" key export pics --passphrase-file "$T/pass" -o "$T/pics.key"
expect_fail "export without a passphrase" "no passphrase" \
  env -u FOG_KEY_PASSPHRASE "$FOG" key export pics -o "$T/x.key" </dev/null
expect_fail "import with a wrong passphrase" "^error: wrong passphrase, or a damaged key file$" \
  env FOG_KEY_PASSPHRASE=wrong "$FOG" --repo "$T/b" key import pics "$T/pics.key"
head -c 100 "$T/pics.key" >"$T/short.key"
expect_fail "import a cut file" "^error: not a fog key export file$" \
  env FOG_KEY_PASSPHRASE="correct horse" "$FOG" --repo "$T/b" key import pics "$T/short.key"
expect_ok "import" env FOG_KEY_PASSPHRASE="correct horse" \
  "$FOG" --repo "$T/b" key import pics "$T/pics.key"
same "import prints the same IPNS name" "$(cat "$T/out")" "$PHOTOS"
same "b lists it" "$("$FOG" --repo "$T/b" key list -l | awk '$2 == "pics" {print $1}')" "$PHOTOS"
expect_ok "export self to stdout" "$FOG" key export self --passphrase-file "$T/pass" -o -
same "stdout export size" "$(stat -c %s "$T/out")" 140

expect_ok "rm pics docs" "$FOG" key rm pics docs
same "rm prints the names" "$(tr '\n' ' ' <"$T/out")" "pics docs "
same "list after rm" "$("$FOG" key list)" "self"
expect_ok "key gen --help" "$FOG" key gen --help
grep -q "usage: fog key gen NAME" "$T/out" && ok || bad "key gen --help"
finish
