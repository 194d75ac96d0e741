#!/usr/bin/env bash
# Issue 12, must-show 4: a sheet of N blood draws pointing at one count file
# (the demo's TX001 count VCF, 1,000 SNPs). Prints wall time, peak memory
# (GNU time), files parsed (run.json) and whether every draw of the N-draw run
# equals the same draw of a 5-draw run. Usage:
#   benches/many_draws.sh [N...]          (default: 5 500 5000)
# Needs /usr/bin/time (GNU) and a built binary (cargo build).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${GRAFTSCAN_BIN:-target/debug/graftscan}
DEMO=data/demo
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(5 500 5000)
# Single-sample count file: every draw reads the same reads (the issue's
# case); SAME_COLUMN=0 cycles the file's four columns instead.
make_batch() {
  local n=$1 dir=$WORK/b$1
  mkdir -p "$dir/counts" "$dir/genotypes"
  cp $DEMO/counts/TX001.counts.vcf.gz "$dir/counts/"
  cp $DEMO/genotypes/TX001.vcf "$dir/genotypes/"
  cp $DEMO/panel.tsv "$dir/"
  head -2 $DEMO/transplants.csv | cut -d, -f1-8 > "$dir/transplants.csv"
  {
    echo "sample_id,transplant_id,collected,counts,counts_sample,total_cfdna,total_cfdna_unit"
    for ((i = 0; i < n; i++)); do
      col=1
      [ "${SAME_COLUMN:-1}" = 1 ] || col=$((1 + i % 4))
      printf 'D%05d,TX001,%s,counts/TX001.counts.vcf.gz,TX001-S%d,10,ng_per_ml\n' \
        "$i" "$(date -u -d "2025-02-01 + $((i % 300)) days" +%F)" "$col"
    done
  } > "$dir/samples.csv"
}
# Every draw of run $2 equals the draw of run $1 that reads the same column
# (all columns but id, date, days and the serial-change ones).
same_as() {
  python3 - "$1/samples.csv" "$2/samples.csv" <<'PY'
import csv, sys
skip = {"sample_id", "collected", "days_post_transplant", "previous_sample_id", "change_pct", "change_vs_rcv"}
def rows(p):
    r = list(csv.DictReader(open(p)))
    return [{k: v for k, v in x.items() if k not in skip} for x in r]
import os
small, big = rows(sys.argv[1]), rows(sys.argv[2])
same_column = os.environ.get("SAME_COLUMN", "1") == "1"
ok = all(b == small[0 if same_column else i % 4] for i, b in enumerate(big))
print("yes" if ok else "NO")
PY
}
for n in "${sizes[@]}"; do
  make_batch "$n"
  /usr/bin/time -v "$BIN" scan "$WORK/b$n" --out "$WORK/r$n" --backend cpu --quiet ${SCAN_ARGS:-} 2> "$WORK/time$n"
  secs=$(grep "Elapsed (wall clock)" "$WORK/time$n" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$WORK/time$n" | awk '{print $NF}')
  parsed=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['counts']['genotype_and_count_files_parsed'])" "$WORK/r$n/run.json")
  same=n/a
  if [ "$n" != 5 ] && [ -d "$WORK/r5" ]; then
    same=$(same_as "$WORK/r5" "$WORK/r$n")
  fi
  printf 'draws %6d  wall %8s  peak RSS %7.1f MB  files parsed %s  every draw equals the 5-draw run: %s\n' \
    "$n" "$secs" "$(echo "$rss / 1024" | bc -l)" "$parsed" "$same"
done
