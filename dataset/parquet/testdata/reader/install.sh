#!/usr/bin/env bash
# Installs the independent Parquet reader (npm hyparquet) that
# dataset/parquet's round-trip test runs; .ci/run calls this. Without node
# and npm the test skips and says why.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "npm not found: the Parquet round-trip test will skip"; exit 0; }
if [ -d node_modules/hyparquet ] && [ -d node_modules/hyparquet-compressors ]; then exit 0; fi
npm install --no-audit --no-fund --loglevel=error
