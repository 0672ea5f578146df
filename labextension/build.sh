#!/usr/bin/env bash
# Rebuild the JupyterLab extension into ../paysql_magic/labextension (committed: installing paysql-magic needs no
# Node.js). Needs Node.js 18+, npm and a Python with jupyterlab (its staging dir is the core the build links to):
#   PYTHON=../.venv/bin/python bash labextension/build.sh
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
core="$("$PYTHON" -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')"
npm ci --no-audit --no-fund
npx tsc
node node_modules/@jupyterlab/builder/lib/build-labextension.js --core-path "$core" .
