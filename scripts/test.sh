#!/usr/bin/env bash
# The whole test suite: set-up, lint, types, tests. Exit non-zero on any failure, including "no tests ran".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"; python3 -m ruff check src tests bench
echo "== mypy --strict"; python3 -m mypy
echo "== pytest"
set +e
python3 -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi
exit "$rc"
