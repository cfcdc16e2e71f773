#!/usr/bin/env bash
# Mutation testing of the pure core (formcheck/core) with mutmut, on demand (not in CI).
# Runs only the fast pure-core tests ([tool.mutmut] in pyproject.toml), at the lowest priority.
# Usage: scripts/mutation.sh [mutant-name-glob ...]   e.g. scripts/mutation.sh 'formcheck.core.faults*'
# Env: MUTMUT (default: the venv's mutmut), JOBS (default 2), BUDGET_S (default 4800).
# Results: `mutmut results`, `mutmut show <name>`; write the score into benchmarks/mutation.md.
set -euo pipefail
cd "$(dirname "$0")/.."
MUTMUT=${MUTMUT:-/work/main/.venv/bin/mutmut}
unset PYTHONPATH  # mutmut puts its mutants/ copy first on sys.path itself
timeout "${BUDGET_S:-4800}" nice -n 19 "$MUTMUT" run --max-children "${JOBS:-2}" "$@" || true
"$MUTMUT" results --all true | awk '{print $NF}' | sort | uniq -c
