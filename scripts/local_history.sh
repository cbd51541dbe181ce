#!/usr/bin/env bash
# A history of real local PySpark runs (`jobcast workloads run`), then progress estimation
# trained and evaluated on it: the README's figures on real local runs.
#
#   scripts/local_history.sh [DB_URL] [RUNS] [WORKLOAD...]
#
#   DB_URL    history database, fresh (default sqlite:///$PWD/local-history/history.db)
#   RUNS      runs per workload (default 16)
#   WORKLOAD  kmeans, pagerank, cc and/or sgd (default kmeans)
#
# Run i of a workload uses a fixed configuration (size, cores, parameters, data seed
# chosen from the lists below by i), so the same command runs the same configurations on
# the same generated data; only the measured runtimes vary with the machine and its load.
# A run takes about half a minute on two idle cores (Spark's start included); training and
# evaluation take a few minutes more.
# Event logs go to $EVENTS (default: spark-events next to a SQLite database file).
# The figures are printed as JSON at the end (also kept in $OUT/evaluate-<workload>.json).
set -euo pipefail
cd "$(dirname "$0")/.."
JC=${JC:-.venv/bin/jobcast}
DB=${1:-sqlite:///$PWD/local-history/history.db}
RUNS=${2:-16}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
if [ $# -eq 0 ]; then set -- kmeans; fi
for workload in "$@"; do
  case "$workload" in
    kmeans|pagerank|cc|sgd) ;;
    *) echo "unknown workload $workload (kmeans, pagerank, cc or sgd)" >&2; exit 2 ;;
  esac
done
case "$RUNS" in
  ''|*[!0-9]*|0) echo "RUNS must be a positive integer, got '$RUNS'" >&2; exit 2 ;;
esac

case "$DB" in
  sqlite:///*)
    file=${DB#sqlite:///}
    OUT=$(dirname "$file")
    if [ -e "$file" ]; then
      echo "$file exists: give a fresh database (this script builds a history from scratch)" >&2
      exit 2
    fi
    ;;
  *) OUT=${OUT:-$PWD/local-history} ;;
esac
mkdir -p "$OUT"
EVENTS=${EVENTS:-$OUT/spark-events}
mkdir -p "$EVENTS"

# configuration i: list lengths are pairwise coprime, so the settings vary independently
pick() { local -a list; read -r -a list <<< "$1"; echo "${list[$(( $2 % ${#list[@]} ))]}"; }
# Per workload (one table each): the sizes, the parameter varied besides them (VARIED) and
# its values, the iteration caps; FIXED parameters are the same in every run.
# cc and sgd stop on convergence before their iteration cap in some configurations (cc:
# no label changed, sooner in denser graphs; sgd: gradient norm below tol, sooner with a
# larger step), so their histories mix run lengths as converging jobs do.
declare -A SIZES=([kmeans]="10000 40000 25000 50000 15000" [pagerank]="2000 4000 3000 5000 2500"
                  [cc]="4000 8000 6000 10000 5000" [sgd]="10000 20000 15000 25000 12500")
declare -A VARIED=([kmeans]=k [pagerank]=degree [cc]=degree [sgd]=step)
declare -A VALUES=([kmeans]="4 8 6 5 9 3 7" [pagerank]="4 7 5 9 3 8 6"
                   [cc]="2.5 4 3 6 2 5 3.5" [sgd]="0.5 0.3 0.4 0.6 0.35 0.45 0.55")
declare -A ITERATIONS=([kmeans]="8 12 10" [pagerank]="5 7 6" [cc]="8 12 10" [sgd]="8 12 10")
declare -A FIXED=([sgd]="tol=0.01")
CORES="1 2"

started=$(date +%s)
for workload in "$@"; do
  for i in $(seq 0 $((RUNS - 1))); do
    cores=$(pick "$CORES" "$i")
    size=$(pick "${SIZES[$workload]}" "$i")
    params=(--param "${VARIED[$workload]}=$(pick "${VALUES[$workload]}" "$i")"
            --param "iterations=$(pick "${ITERATIONS[$workload]}" "$i")")
    for fixed in ${FIXED[$workload]:-}; do params+=(--param "$fixed"); done
    params+=(--param "seed=$i")
    echo "== $workload run $((i + 1))/$RUNS: size $size, cores $cores, ${params[*]}" >&2
    $JC workloads run "$workload" --size "$size" --cores "$cores" "${params[@]}" \
      --event-log-dir "$EVENTS" --db "$DB" --json > "$OUT/run-$workload-$i.json" 2>>"$OUT/spark.log"
  done
done
echo "== runs took $(( $(date +%s) - started )) s" >&2

for workload in "$@"; do
  echo "== train and evaluate progress estimation on $workload" >&2
  $JC train progress --job "$workload" --db "$DB" --json > "$OUT/train-$workload.json"
  $JC evaluate progress --job "$workload" --db "$DB" --json | tee "$OUT/evaluate-$workload.json"
done
echo "== done after $(( $(date +%s) - started )) s; history in $DB" >&2
