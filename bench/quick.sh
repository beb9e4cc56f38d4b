#!/usr/bin/env bash
# The quick JMH profile: every benchmark class at reduced sizes and iteration counts, under
# 5 minutes on 2 cores, then the derived GB/s and GFLOP/s (bench/rates.py).
#   bench/quick.sh                 all classes
#   bench/quick.sh Reductions Copy only the classes whose names contain these words
# Results: one JMH JSON per class and rates.txt under $OUT (default /tmp/ood4j-jmh-quick-DATE).
# CUDA variants run only where nvidia-smi lists a GPU (else -p backend=cpu: a cuda parameter set
# on a machine without CUDA fails its setup with the reason, which JMH reports and skips).
# The full profile is plain JMH with the defaults in the annotations (sizes of WORKLOADS.md):
#   java -jar bench/target/benchmarks.jar -p backend=cpu -rf json
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
java="$JAVA_HOME/bin/java"
jar="$root/bench/target/benchmarks.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$root"/{kernels,engine,models,detectors,bench}/src/main -newer "$jar" -type f 2>/dev/null | head -1)" ]; then
  echo "building $jar" >&2
  (cd "$root" && ./mvnw -q -B -DskipTests package -pl bench -am) >&2
fi
backends=cpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then backends=cpu,cuda; fi
out="${OUT:-/tmp/ood4j-jmh-quick-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
only=("$@")
start=$(date +%s)
echo "== quick JMH profile, backends $backends, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); results in $out"

# class  [JMH options: sizes (-p), iterations]
avgt=(-wi 1 -i 2 -w 500ms -r 1s)
run() {
  local cls="$1"; shift
  if [ ${#only[@]} -gt 0 ]; then
    local hit=0; for w in "${only[@]}"; do [[ "$cls" == *"$w"* ]] && hit=1; done
    [ $hit = 1 ] || return 0
  fi
  echo "-- $cls"
  "$java" -jar "$jar" "org.ood4j.bench.$cls\b" -f 1 -p backend="$backends" -rf json -rff "$out/$cls.json" "$@" 2>/dev/null \
    | grep -E '^(Benchmark|[A-Z][A-Za-z]+Benchmark\.)|<failure>|Exception' || true
}
run CopyBenchmark            "${avgt[@]}" -p n=20000000
run ElementwiseBenchmark     "${avgt[@]}" -p n=10000000
run ReductionsBenchmark      "${avgt[@]}" -p rows=20000 -p cols=1000
run RowsBenchmark            "${avgt[@]}" -p rows=20000 -p cols=1000
run MatmulBenchmark          "${avgt[@]}" -p n=512
run LinalgBenchmark          "${avgt[@]}" -p n=256
run ConvBenchmark            "${avgt[@]}" -p batch=8
run KnnBenchmark             -wi 1 -i 2 -p queries=1000 -p bankRows=10000
run WhitenedDistancesBenchmark "${avgt[@]}"
run LogitsDetectorsBenchmark -wi 2 -i 3 -p rows=20000
run FeaturesDetectorsBenchmark -wi 1 -i 2 -p fitRows=5000 -p rows=1000
run FeatureMapsDetectorsBenchmark -wi 2 -i 3 -p maps=400
run FeatureMapKernelsBenchmark "${avgt[@]}" -p maps=400
run ModelDetectorsBenchmark  -wi 1 -i 2 -p batch=32
run JsonMatrixBenchmark      -wi 2 -i 3 -w 1s -r 1s -p mb=16
echo "== $(( $(date +%s) - start )) s; load now $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/env python3 "$root/bench/rates.py" "$out"/*.json | tee "$out/rates.txt"
