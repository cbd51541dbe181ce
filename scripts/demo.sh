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

PR="--set pages=2000000 --set links=20000000 --set convergence_criterion=0.001"
say "2. Before submitting: how long will PageRank on 2M pages / 20M links take per scale-out?"
$JC predict --job pagerank $PR --scale-out 2,4,6,8,12

say "3. Which is the cheapest cluster that finishes it within 6 minutes (95% confidence)?"
$JC configure --job pagerank --deadline 360 --confidence 0.95 $PR

say "4. How accurate are the models on this history? (privacy paper's protocols, 3 repeats)"
$JC evaluate models --job sort --repeats 3 --train-sizes 3,6,...,30 --plot "$OUT/sort-models.png"
echo "Done. The history is in $OUT/history.db (JOBCAST_DB=$JOBCAST_DB)."
