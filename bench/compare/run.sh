#!/usr/bin/env bash
# ood4j against PyTorch (CPU) on the benchmark workload of shared/bench/WORKLOADS.md, in one run:
# times every detector row with `ood4j bench`, then with bench/compare/torch_peer.py on the same
# files and thread count (checking that the scores agree), and prints bench/compare/report's table.
#
# Usage: bench/compare/run.sh [--data DIR | --full] [--out DIR] [--repeats N] [--warmup N] [--threads N] [--netlib] [--no-float64]
#   default        generate the quick workload (first dimension / 5) into /tmp/ood4j-bench-quick (kept)
#   --full         generate the full workload into /tmp/ood4j-bench-full instead (about 1 GB, minutes)
#   --data DIR     use an existing workload folder
#   --out DIR      where ood4j.json, torch.json, table.md and the logs go (default /tmp/ood4j-compare-DATE)
#   --repeats N, --warmup N  timed and untimed runs per row, both sides (default 5 and 3: the JVM's JIT
#                  needs the warm-up; medians are reported)
#   --threads N    threads of both sides (default: all cores; ood4j's common pool gets N - 1 workers)
#   --netlib       run PyTorch on the system's default BLAS even when OpenBLAS is installed
#   --no-float64   skip the second PyTorch pass in float64 (like for like with ood4j's float64 work)
# Needs: Java 25 (JAVA_HOME or /usr/lib/jvm/temurin-25-jdk-amd64), /usr/bin/python3 with python3-torch
# and python3-numpy (apt-get install -y python3-torch). Debian's torch calls the system BLAS; with
# the package libopenblas0-pthread installed, this script points PyTorch at OpenBLAS (as a pip
# wheel would be at MKL) so its matrix products are not measured on the reference BLAS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="" full=0 out="" repeats=5 warmup=3 threads="$(nproc)" netlib=0 float64=1
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --full) full=1; shift ;;
    --out) out="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --netlib) netlib=1; shift ;;
    --no-float64) float64=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
out="${out:-/tmp/ood4j-compare-$(date +%Y%m%d-%H%M%S)}"
# (re)build the ood4j jar when a source is newer than it (the launcher only builds a missing jar)
jar="$root/cli/target/ood4j.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$root"/{kernels,engine,models,detectors,cli}/src/main -newer "$jar" -type f 2>/dev/null | head -1)" ]; then
  echo "building $jar" >&2
  (cd "$root" && JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}" ./mvnw -q -B -DskipTests package -pl cli -am) >&2
fi
mkdir -p "$out"
if [ -z "$data" ]; then
  if [ "$full" = 1 ]; then data=/tmp/ood4j-bench-full; gen=(); else data=/tmp/ood4j-bench-quick; gen=(--quick); fi
  if [ ! -f "$data/fmaps.npy" ]; then
    "$root/ood4j" bench --generate "$data" "${gen[@]}"
  fi
fi

echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname): $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); workload $data"
# ood4j: the common fork-join pool does the parallel work, with the calling thread: N - 1 workers
JDK_JAVA_OPTIONS="-Djava.util.concurrent.ForkJoinPool.common.parallelism=$((threads - 1))" \
  "$root/ood4j" bench --data "$data" --out "$out/ood4j.json" --repeats "$repeats" --warmup "$warmup" --save-scores "$out/scores" 2>/dev/null \
  | tee "$out/ood4j.log" \
  || { echo "ood4j bench failed; see $out/ood4j.log" >&2; exit 1; }

openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
if [ "$netlib" = 0 ] && [ -f "$openblas/libblas.so.3" ]; then
  export LD_LIBRARY_PATH="$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
OMP_NUM_THREADS="$threads" /usr/bin/python3 "$here/torch_peer.py" --data "$data" --out "$out/torch.json" --threads "$threads" \
  --repeats "$repeats" --warmup "$warmup" --check "$out/scores" | tee "$out/torch.log"
if [ "$float64" = 1 ]; then
  OMP_NUM_THREADS="$threads" /usr/bin/python3 "$here/torch_peer.py" --data "$data" --out "$out/torch64.json" --threads "$threads" \
    --repeats "$repeats" --warmup "$warmup" --check "$out/scores" --dtype float64 --no-reference | tee "$out/torch64.log"
fi
echo "== load after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$here/report" "$out/ood4j.json" "$out/torch.json" $([ "$float64" = 1 ] && echo "$out/torch64.json") | tee "$out/table.md"
echo
echo "files: $out"
