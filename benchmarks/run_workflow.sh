#!/usr/bin/env bash
# Run a project.yml workflow and keep a timestamped log of it, for the report's step timings:
#   bash benchmarks/run_workflow.sh all reports/all_run.log [extra `spacy project run` options]
# Each output line is written as EPOCH_SECONDS<TAB>line; LOG with .status in place of .log gets
# "rc=EXIT seconds=WALL commit=HEAD". `spacy project run report` reads both (--run-log).
set -uo pipefail
workflow=${1:?usage: run_workflow.sh WORKFLOW LOG [options]}
log=${2:?usage: run_workflow.sh WORKFLOW LOG [options]}
shift 2
cd "$(dirname "$0")/.."
mkdir -p "$(dirname "$log")"
start=$(date +%s)
python -m spacy project run "$workflow" . "$@" 2>&1 \
  | while IFS= read -r line; do printf '%s\t%s\n' "$(date +%s)" "$line"; done > "$log"
rc=${PIPESTATUS[0]}
end=$(date +%s)
echo "rc=$rc seconds=$((end - start)) commit=$(git rev-parse HEAD)" > "${log%.log}.status"
exit "$rc"
