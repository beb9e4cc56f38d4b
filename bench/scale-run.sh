#!/usr/bin/env bash
# Fits and scores at scale through the command line, measuring what a user's machine would see:
# for each detector, `ood4j fit` on DATA/features.npy + labels.npy, then `ood4j score` on
# DATA/queries.npy, each in its own JVM whose /proc/PID/status is sampled every ~100 ms for the
# peak anonymous memory (RssAnon: heap, malloc, off-heap tensors — what cannot be paged out
# without swap) and the peak total RSS (VmHWM, the kernel's own high-water mark, which also counts
# the mapped files' pages in the page cache). Writes a markdown table, with the AUROC of the
# query scores (ID half against the half around unseen centres) as a check of the fit.
#
#   bench/scale-run.sh DATA OUT.md [DETECTOR ...]       (default: Mahalanobis RMD ViM KNN)
#
# DATA is a folder written by `ood4j bench --generate-scale DATA [--rows N --dim D ...]` (its
# head_w.npy/head_b.npy are ViM's head). The states are written to DATA/states/ (a KNN state
# holds the whole bank: as large as features.npy). JAVA_TOOL_OPTIONS passes JVM flags (e.g.
# -Xmx2g); the table records them. Environment: VIM_D (ViM's principal dimension, default D/2).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:?usage: bench/scale-run.sh DATA OUT.md [DETECTOR ...]}"
out="${2:?usage: bench/scale-run.sh DATA OUT.md [DETECTOR ...]}"
shift 2
detectors=("$@")
[ ${#detectors[@]} -gt 0 ] || detectors=(Mahalanobis RMD ViM KNN)
for f in features.npy labels.npy queries.npy head_w.npy head_b.npy scale.json; do
  [ -f "$data/$f" ] || { echo "scale-run: $data/$f is missing; write the folder with: ood4j bench --generate-scale $data" >&2; exit 1; }
done
mkdir -p "$data/states"
"$here/ood4j" --version >/dev/null   # builds the jar first if it is stale, outside the measurements

dim=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['dim'])" "$data/scale.json" 2>/dev/null \
      || sed -n 's/.*"dim": *\([0-9]*\).*/\1/p' "$data/scale.json")
vim_d="${VIM_D:-$((dim / 2))}"

# run LABEL COMMAND...: runs it in the background, samples its memory, prints "seconds peak_anon_kb peak_rss_kb"
# after it ends; its stdout/stderr go to $data/states/LABEL.log. Fails when the command fails.
run() {
  local label="$1"; shift
  local log="$data/states/$label.log" start end anon=0 hwm=0 a h status
  start=$(date +%s.%N)
  "$@" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if status=$(cat "/proc/$pid/status" 2>/dev/null); then
      a=$(awk '/^RssAnon:/ {print $2}' <<<"$status"); h=$(awk '/^VmHWM:/ {print $2}' <<<"$status")
      [ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
      [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
    fi
    sleep 0.1
  done
  if ! wait "$pid"; then echo "scale-run: $label failed; see $log:" >&2; tail -3 "$log" >&2; return 1; fi
  end=$(date +%s.%N)
  echo "$(echo "$end - $start" | bc) $anon $hwm"
}

gb() { printf '%.2f' "$(echo "$1 / 1048576" | bc -l)"; }
rows=$(sed -n 's/.*"rows": *\([0-9]*\).*/\1/p' "$data/scale.json")
queries=$(sed -n 's/.*"queries": *\([0-9]*\).*/\1/p' "$data/scale.json")
bytes=$(stat -c %s "$data/features.npy")
{
  echo "# ood4j at scale: fit and score through the command line"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo) memory,"\
       "$("${JAVA_HOME:+$JAVA_HOME/bin/}java" -version 2>&1 | head -1 | tr -d '"'), JAVA_TOOL_OPTIONS='${JAVA_TOOL_OPTIONS:-}'."
  echo "Data: \`$data\` — $rows x $dim float32 features ($(gb $((bytes / 1024))) GB), $queries query rows; \`scale.json\`: $(tr -d '\n' < "$data/scale.json" | tr -s ' ')"
  echo
  echo "Peak RssAnon: anonymous memory (heap, malloc, off-heap tensors), sampled every ~100 ms. Peak RSS: VmHWM (includes the"
  echo "page cache of the memory-mapped inputs and bank, which the kernel can drop). Times are wall-clock, JVM start included."
  echo
  echo "| detector | step | rows | time s | rows/s | peak RssAnon GB | peak RSS GB | query AUROC |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
} > "$out"

for d in "${detectors[@]}"; do
  params=()
  case "$d" in
    ViM) params=(--param "d=$vim_d" --param "w=@$data/head_w.npy" --param "b=@$data/head_b.npy") ;;
    NNGuide) params=(--param "w=@$data/head_w.npy" --param "b=@$data/head_b.npy") ;;
  esac
  state="$data/states/$d.safetensors"
  res=$(run "$d-fit" "$here/ood4j" fit --quiet --detector "$d" "${params[@]}" \
      --features "$data/features.npy" --labels "$data/labels.npy" -o "$state") || exit 1
  read -r s anon hwm <<<"$res"
  printf '| %s | fit | %d | %.1f | %.0f | %s | %s | |\n' "$d" "$rows" "$s" "$(echo "$rows / $s" | bc -l)" "$(gb "$anon")" "$(gb "$hwm")" >> "$out"
  res=$(run "$d-score" "$here/ood4j" score --quiet --state "$state" --features "$data/queries.npy" \
      -o "$data/states/$d.scores.npy") || exit 1
  read -r s anon hwm <<<"$res"
  # the query file's second half lies around unseen centres (label -1): the AUROC says the fit is not only cheap but right
  auroc=$("$here/ood4j" eval --scores "$data/states/$d.scores.npy" --labels "$data/query_labels.npy" --format csv 2>/dev/null \
      | sed -n 2p | cut -d, -f1)
  printf '| %s | score | %d | %.1f | %.0f | %s | %s | %s |\n' "$d" "$queries" "$s" "$(echo "$queries / $s" | bc -l)" "$(gb "$anon")" "$(gb "$hwm")" \
      "$auroc" >> "$out"
  echo "scale-run: $d done" >&2
done
echo "wrote $out" >&2
