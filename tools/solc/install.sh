#!/usr/bin/env bash
# Install the offline solc frontend where py-solc-x looks for solc-v<version>.
# usage: install.sh <target path, e.g. ~/.solcx/solc-v0.8.28> <project root>
set -euo pipefail
target=$1
root=$2
marker="# intent-rebalancer offline solc frontend"
want=$(printf '#!/bin/sh\n%s\nexec node "%s/tools/solc/solc-frontend.js" "$@"\n' "$marker" "$root")

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
