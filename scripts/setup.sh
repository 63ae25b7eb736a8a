#!/usr/bin/env bash
# Installs everything tinyqat needs on a fresh Debian 12 (run as root).
# Idempotent: apt-get runs only for packages that are missing, npm only if a
# pinned package (tools/ort: onnxruntime-node, tools/parquet: @duckdb/node-api)
# is missing from its node_modules or not the pinned version.
set -euo pipefail

# Debian packages; extend here.
APT_PACKAGES="build-essential cmake ninja-build clang llvm \
libonnx-dev libprotobuf-dev protobuf-compiler \
libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev \
libgtest-dev libgmock-dev libbenchmark-dev libssl-dev zlib1g-dev \
clang-format nodejs npm ca-certificates \
libopencv-dev libvalijson-dev pkgconf libtorch-dev \
libthrift-dev libboost-dev libsnappy-dev libzstd-dev liblz4-dev libbrotli-dev"
# libthrift-dev: the Parquet footer's compact protocol; its headers include Boost (libboost-dev) without
# Debian declaring it. The codec libraries are the Parquet reader's (cmake/parquet.cmake).
# libgloo-dev: libtorch's c10d ProcessGroupGloo headers include Gloo's (distributed training, src/train/distributed.cpp).
APT_PACKAGES="$APT_PACKAGES libgloo-dev"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_DIR="$ROOT/tools/ort"
PARQUET_DIR="$ROOT/tools/parquet"

log() { echo "setup: $*"; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

# Installed packages plus the virtual names they provide. This matters for
# "npm": NodeSource's nodejs package bundles npm, declares "Provides: npm" and
# "Conflicts: npm", so asking apt for Debian's npm there would fail.
installed_names() {
  dpkg-query -W -f='${db:Status-Abbrev}|${Package}|${Provides}\n' 2>/dev/null |
    awk -F'|' '$1 ~ /^ii/ {
      print $2
      n = split($3, p, ",")
      for (i = 1; i <= n; i++) { sub(/^ +/, "", p[i]); sub(/[ (].*$/, "", p[i]); if (p[i] != "") print p[i] }
    }' | sort -u
}

missing=()
have="$(installed_names)"
for pkg in $APT_PACKAGES; do
  if ! grep -qxF "$pkg" <<<"$have"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing packages (${missing[*]}) and not root; rerun as root"
  log "installing ${#missing[@]} missing package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  log "apt-get update"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "all apt packages present"
fi

command -v node >/dev/null || die "node not found after apt install"
command -v npm >/dev/null || die "npm not found after apt install"

# Installs DIR's pinned npm packages (DIR/package.json) unless node_modules already has every one of them
# at its pinned version.
npm_pinned() {
  local dir="$1" stale=""
  while IFS='=' read -r pkg want; do
    local have_ver
    have_ver="$(node -p 'require(process.argv[1]).version' "$dir/node_modules/$pkg/package.json" 2>/dev/null || true)"
    [[ "$have_ver" == "$want" ]] || stale+=" $pkg@$want${have_ver:+ (have $have_ver)}"
  done < <(node -e 'const d = require(process.argv[1]).dependencies; for (const k in d) console.log(`${k}=${d[k]}`)' \
             "$dir/package.json")
  if [[ -z "$stale" ]]; then
    log "npm packages of ${dir#"$ROOT"/} already installed"
  else
    log "npm install in ${dir#"$ROOT"/} (--ignore-scripts):$stale"
    npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund
  fi
}

npm_pinned "$ORT_DIR"
# The Parquet writers of the reader tests. DuckDB's native binding comes in a per-platform npm package
# (@duckdb/node-bindings-linux-x64) and parquet-wasm is WebAssembly, so --ignore-scripts installs working
# copies from the npm registry alone.
npm_pinned "$PARQUET_DIR"

log "checking that node can load onnxruntime-node"
if ! ver="$(cd "$ORT_DIR" && node -e '
  try {
    const ort = require("onnxruntime-node");
    if (typeof ort.InferenceSession?.create !== "function") throw new Error("no InferenceSession export");
    process.stdout.write(require("onnxruntime-node/package.json").version);
  } catch (e) {
    process.stdout.write(String(e.message).split("\n")[0]);
    process.exit(1);
  }
' 2>&1)"; then
  echo "setup: $ver" >&2
  die "node cannot require('onnxruntime-node') from tools/ort (delete tools/ort/node_modules and rerun)"
fi
log "onnxruntime-node $ver OK (node $(node --version))"
log "checking that node can run DuckDB (the Parquet writer of the reader tests)"
if ! ver="$(node "$PARQUET_DIR/duckdb_sql.js" --version 2>&1)"; then
  echo "setup: $ver" >&2
  die "node cannot run @duckdb/node-api from tools/parquet (delete tools/parquet/node_modules and rerun)"
fi
log "DuckDB $ver OK"
(cd "$PARQUET_DIR" && node -e 'require("parquet-wasm/node")') ||
  die "node cannot load parquet-wasm from tools/parquet (delete tools/parquet/node_modules and rerun)"
log "parquet-wasm OK"
log "done"
