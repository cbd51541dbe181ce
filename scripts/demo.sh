#!/usr/bin/env bash
# `make demo`: the main job on the embedded SQLite default, from a fresh history.
set -euo pipefail
cd "$(dirname "$0")/.."
JC=.venv/bin/jobcast
SHARED=../shared/data
OUT=demo-out
mkdir -p "$OUT"
rm -f "$OUT"/history.db*
export JOBCAST_DB="sqlite:///$PWD/$OUT/history.db"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ ! -d "$SHARED/c3o-paper" ]; then
  cat <<MSG
No trace data at $SHARED. Import your own history, for example:
  $JC import c3o runs.tsv --job myjob          # C3O format: gross_runtime, instance_count, ...
  $JC import csv runs.csv --job myjob --runtime seconds --scale-out nodes
then: $JC predict --job myjob --set KEY=VALUE --scale-out 2,4,8
MSG
  exit 0
fi

say "1. Import the C3O traces (five Spark jobs on Amazon EMR) into $OUT/history.db"
for job in grep kmeans linearregression pagerank sort; do
  $JC import c3o "$SHARED/c3o-paper/$job.csv" --job "$job"
done
$JC jobs

live_part() {
  EV="$OUT/spark-events"
  rm -rf "$EV"; mkdir -p "$EV"
  say "2. While it runs: build a small history of real PageRank runs (local PySpark)"
  for size in 6000 8000 10000; do
    $JC workloads run pagerank --job pagerank-local --size "$size" --cores 2 --event-log-dir "$EV"
  done
  $JC train progress --job pagerank-local

  say "3. Watch one more run live, with its estimated remaining time vs the actual"
  before=$(ls "$EV" | wc -l)
  $JC workloads run pagerank --size 9000 --cores 2 --event-log-dir "$EV" --param pause_s=1 \
    --no-record > "$OUT/live-run.log" 2>&1 &
  runner=$!
  for _ in $(seq 1 240); do
    [ "$(ls "$EV" | wc -l)" -gt "$before" ] && break
    sleep 0.5
  done
  log=$(ls -t "$EV" | head -n 1)   # the new run's log (.inprogress while it runs)
  $JC watch --eventlog "$EV/$log" --job pagerank-local --iterations job-groups \
    --set input_size=9000 --set cores=2 --interval 0.5 --timeout 900
  wait "$runner"
}

if command -v java >/dev/null 2>&1; then
  live_part
else
  echo "Java is not installed: skipping the live Spark part (progress estimation)."
fi

PR="--set pages=2000000 --set links=20000000 --set convergence_criterion=0.001"
say "4. Before submitting: how long will PageRank on 2M pages / 20M links take per scale-out?"
$JC predict --job pagerank $PR --scale-out 2,4,6,8,12

say "5. Which is the cheapest cluster that finishes it within 6 minutes (95% confidence)?"
$JC configure --job pagerank --deadline 360 --confidence 0.95 $PR

say "6. How accurate are the models on this history? (privacy paper's protocols, 3 repeats)"
$JC evaluate models --job sort --repeats 3 --train-sizes 3,6,...,27 --plot "$OUT/sort-models.png"

say "7. A privacy-safe share of the sort history (epsilon = 1, public domains declared)"
cat > "$OUT/sort-domain.json" <<JSON
{"columns": {
  "instance_count": {"type": "numeric", "values": [2, 4, 6, 8, 10, 12], "integer": true, "log": true},
  "data_size_MB":  {"type": "numeric", "lower": 1000, "upper": 100000, "log": true},
  "gross_runtime": {"type": "numeric", "lower": 10, "upper": 14400, "log": true}}}
JSON
rm -rf "$OUT/share-sort"
$JC share --job sort --epsilon 1 --rows 1000 --out "$OUT/share-sort" \
  --domain "$OUT/sort-domain.json" --seed 1
$JC budget --job sort

echo "Done. The history is in $OUT/history.db (JOBCAST_DB=$JOBCAST_DB)."
