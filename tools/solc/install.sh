#!/usr/bin/env bash
# Install the offline solc frontend where py-solc-x looks for solc-v<version>.
# usage: install.sh <target path, e.g. ~/.solcx/solc-v0.8.28> <project root>
#
# The wrapper is shared by every clone on the machine (py-solc-x has one binary folder per
# user), so it does not trust one clone's path: it runs the frontend of the project it is
# called from (the working directory or one of its parents), and only falls back to the clone
# that installed it last.
set -euo pipefail
target=$1
root=$2
marker="# intent-rebalancer offline solc frontend"

read -r -d '' want <<WRAPPER || true
#!/bin/sh
$marker
frontend=tools/solc/solc-frontend.js
dir=\$PWD
while [ "\$dir" != "/" ]; do
  if [ -f "\$dir/\$frontend" ] && [ -d "\$dir/node_modules/solc" ]; then
    exec node "\$dir/\$frontend" "\$@"
  fi
  dir=\$(dirname "\$dir")
done
exec node "$root/\$frontend" "\$@"
WRAPPER

if [ -e "$target" ] && ! grep -qs "$marker" "$target"; then
  echo "solc: $target is a native compiler; leaving it in place"
  exit 0
fi
if [ -e "$target" ] && [ "$(cat "$target")" = "$want" ]; then
  exit 0
fi
mkdir -p "$(dirname "$target")"
printf '%s\n' "$want" > "$target.tmp"
chmod +x "$target.tmp"
mv "$target.tmp" "$target"
echo "solc: installed the offline frontend as $target"
