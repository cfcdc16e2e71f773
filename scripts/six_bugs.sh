#!/usr/bin/env bash
# Issue #12's six deliberate bugs: apply each to a copy of the tree, run the fast pure-core
# tests, print the tests that fail, throw the copy away. Nothing in this checkout is touched.
# Usage: scripts/six_bugs.sh   (PYTHON: the interpreter, default python)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=$(cd "$SRC" && command -v "${PYTHON:-python}" || echo "${PYTHON:-python}")
case $PY in /*) ;; *) PY="$SRC/$PY" ;; esac
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
run() {  # label file old new
  rm -rf "$W/t"; mkdir -p "$W/t"
  cp -r "$SRC/formcheck" "$SRC/tests" "$SRC/docs" "$SRC/pyproject.toml" "$W/t/"
  find "$W/t" -name __pycache__ -prune -exec rm -rf {} +
  "$PY" - "$W/t/$2" "$3" "$4" <<'PYCODE'
import sys
p, old, new = sys.argv[1:]
s = open(p).read()
assert old in s, f"{p}: the code to break was not found: {old!r}"
open(p, "w").write(s.replace(old, new, 1))
PYCODE
  (cd "$W/t" && PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$W/t" "$PY" -m pytest -q -p no:cacheprovider \
     -m "not e2e" tests/test_rules_pinned.py tests/test_reps_machine.py tests/test_core.py 2>&1 \
     | grep -E "^FAILED|^ERROR| passed| failed" | cut -c1-160 | sed "s/^/($1) /")
}
run a formcheck/core/reps.py $'        if z == "top":\n            if t - self._exc_t >= self.cfg.min_rep_s:' \
                             $'        if z != "bottom":\n            if t - self._exc_t >= self.cfg.min_rep_s:'
run b formcheck/core/reps.py 'if t - self._exc_t >= self.cfg.min_rep_s:' 'if True:'
run c formcheck/core/faults.py $'    if m.peak_lift_velocity_dps > cfg.max_lift_velocity_dps:\n        return RuleHit(m.peak_lift_velocity_dps, cfg.max_lift_velocity_dps, "deg/s", m.peak_lift_velocity_t)\n' ''
run d formcheck/core/analysis.py 'LANDMARK_OFFSET_DEG = {K.SEATED: -4.7, K.PRONE: -1.3}' 'LANDMARK_OFFSET_DEG = {K.SEATED: 0.0, K.PRONE: 0.0}'
run e formcheck/core/faults.py 'if c.counted and c.closed and m.top_hold_s' 'if c.counted and m.top_hold_s'
run f formcheck/core/kinematics.py 'knee_angle < knee_bent_deg' 'knee_angle < 100.0'
