#!/usr/bin/env bash
# Installs everything tinyqat needs on a fresh Debian 12 (run as root).
# Idempotent: apt-get runs only for packages that are missing, npm only if
# tools/ort/node_modules/onnxruntime-node is missing or not the pinned version.
set -euo pipefail

# Debian packages; extend here.
APT_PACKAGES="build-essential cmake ninja-build clang llvm \
libonnx-dev libprotobuf-dev protobuf-compiler \
libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev \
libgtest-dev libgmock-dev libbenchmark-dev libssl-dev zlib1g-dev \
clang-format nodejs npm ca-certificates \
libopencv-dev libvalijson-dev pkgconf libtorch-dev"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_DIR="$ROOT/tools/ort"

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

# Version pinned in tools/ort/package.json vs the one in node_modules (if any).
want="$(node -p 'require(process.argv[1]).dependencies["onnxruntime-node"]' "$ORT_DIR/package.json")"
have_ver="$(node -p 'require(process.argv[1]).version' "$ORT_DIR/node_modules/onnxruntime-node/package.json" 2>/dev/null || true)"
if [[ -n "$have_ver" && "$have_ver" == "$want" ]]; then
  log "onnxruntime-node $have_ver already installed in tools/ort/node_modules"
else
  log "npm install in tools/ort (onnxruntime-node $want, --ignore-scripts)${have_ver:+, replacing $have_ver}"
  npm install --prefix "$ORT_DIR" --ignore-scripts --no-audit --no-fund
fi

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
log "done"
