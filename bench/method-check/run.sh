#!/usr/bin/env bash
# The miniature method check, resumable: run again after any stop. Arms as arguments (--arm base ...).
set -euo pipefail
cd "$(dirname "$0")"
[ -f code_alpaca_2k.json ] || cp "${WIZARDCODER_SHARED:-../../../shared}/data/code_alpaca_2k.json" .
export WIZARDCODER_DATA_DIR="${WIZARDCODER_DATA_DIR:-$(cd ../../../shared/data 2>/dev/null && pwd)}"
../../.venv/bin/wizardcoder models pull qwen2.5-coder-0.5b-instruct
exec ../../.venv/bin/wizardcoder recipe run method-check.yaml -o out "$@"
