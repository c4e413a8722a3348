#!/usr/bin/env bash
# Installs the official JavaScript SDKs (npm openai, @anthropic-ai/sdk) at
# the versions package-lock.json pins, for httpapi's TestSDKJS; .ci/run
# calls this. Without node and npm the test skips and says why.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "npm not found: the JavaScript SDK conformance test will skip"; exit 0; }
# npm ci starts by deleting node_modules: run it only when the lock changed
# since the last install, so that a machine without the registry keeps
# what it has.
if [ node_modules/.package-lock.json -nt package-lock.json ]; then exit 0; fi
npm ci --no-audit --no-fund --loglevel=error
