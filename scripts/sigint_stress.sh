#!/usr/bin/env bash
# Interrupt `formcheck analyze` (every output) at random moments, as `timeout -s INT` does
# (the command, then its whole process group: two SIGINTs), and check each run: exit status,
# time to stop, previous outputs byte-identical, nothing left behind, nothing else on stderr.
#   bash scripts/sigint_stress.sh [RUNS] [MAX_DELAY_S]      (defaults 30, 9.5)
set -u
runs=${1:-30}; max=${2:-9.5}
clip="$(cd "$(dirname "$0")/.." && pwd)/sample_videos/dev01_seated_r.mp4"
work=$(mktemp -d)
for i in $(seq 1 "$runs"); do
  d=$(python3 -c "import random; print(round(random.uniform(0.5, $max), 2))")
  dir="$work/$i"; mkdir -p "$dir"
  for f in o.json o.csv o.html o.mp4; do echo "previous $f" > "$dir/$f"; done
  (cd "$dir" && md5sum o.* > ../$i.md5)
  start=$(date +%s.%N)
  timeout --preserve-status -s INT -k 40 "$d" formcheck analyze "$clip" --json "$dir/o.json" \
    --csv "$dir/o.csv" --html "$dir/o.html" --annotate "$dir/o.mp4" > "$dir.out" 2> "$dir.err"
  rc=$?
  t=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
  intact=$(cd "$dir" && md5sum -c --quiet ../$i.md5 >/dev/null 2>&1 && echo intact || echo replaced)
  extra=$(ls -A "$dir" | grep -v '^o\.\(json\|csv\|html\|mp4\)$' | tr '\n' ' ')
  other=$(grep -cv "^formcheck: interrupted$\|interrupted; the partial annotated video was discarded" "$dir.err")
  echo "signal at ${d}s: exit $rc after ${t}s, outputs $intact, left behind [${extra}], other stderr lines $other"
done
rm -rf "$work"
