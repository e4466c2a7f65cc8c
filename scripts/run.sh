#!/usr/bin/env bash
# make run: make a repository if there is none, add a sample folder, show its CID, list it and
# read a file back, then run `fog daemon` on that repository in the foreground (it prints its
# peer ID, listen addresses and API address; Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
FOG=build/fog
repo=${FOG_PATH:-$HOME/.fog}
if [ ! -f "$repo/config" ]; then
  "$FOG" --repo "$repo" init
fi
sample=build/sample
rm -rf "$sample"
mkdir -p "$sample/docs" "$sample/photos"
cat > "$sample/README.txt" <<'TXT'
This folder was added to fog by `make run`.
Every file is split into blocks named by their hash; the folder's CID names all of it.
TXT
printf 'fog keeps every version of a name; this is version one.\n' > "$sample/docs/notes.txt"
head -c 3000000 /dev/zero | tr '\0' 'x' > "$sample/photos/large.bin"
echo "== fog add -r $sample"
"$FOG" --repo "$repo" add -r "$sample"
root=$("$FOG" --repo "$repo" add -r -Q "$sample")
echo
echo "== the folder's CID: $root"
echo "== fog ls $root"
"$FOG" --repo "$repo" ls "$root"
echo "== fog cat $root/README.txt"
"$FOG" --repo "$repo" cat "$root/README.txt"
echo "== fog repo stat"
"$FOG" --repo "$repo" repo stat
echo
echo "repository: $repo   (try: build/fog --repo $repo cat $root/docs/notes.txt)"
echo
echo "== fog daemon (Ctrl-C stops it; meanwhile try: build/fog --repo $repo id, swarm peers)"
exec "$FOG" --repo "$repo" daemon
