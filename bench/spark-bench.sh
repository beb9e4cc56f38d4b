#!/usr/bin/env bash
# ood4j on Spark against the single-JVM command line, on the same data: Mahalanobis fitted on
# 1M x 512 float32 rows and the same rows scored, by `ood4j fit`/`ood4j score` (memory-mapped
# .npy) and by the Spark stages in local[2] (Parquet, as a Spark user's data would be; written
# once, untimed). Prints one line per step: wall seconds, user+system CPU seconds, rows/s; and
# the largest relative difference between the scores of the two fits (both states scored by the CLI).
#
#   bench/spark-bench.sh WORK [ROWS (1000000)] [DIM (512)]
#
# WORK holds the data (written by `ood4j bench --generate-scale` when absent), the Parquet copy
# and the states. SKIP_BUILD=1 skips the package build. JAVA_OPTS adds JVM flags (default -Xmx4g).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:?usage: bench/spark-bench.sh WORK [ROWS] [DIM]}"
rows="${2:-1000000}"
dim="${3:-512}"
cd "$here"
if [ -z "${SKIP_BUILD:-}" ]; then
  ./mvnw -B -o -q package -DskipTests -Dcuda.emu.skip=true dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
fi
data="$work/data"
[ -f "$data/features.npy" ] || ./ood4j bench --generate-scale "$data" --rows "$rows" --dim "$dim" --classes 100 --queries 1000 --quiet
n=$(python3 -c "import numpy,sys; print(numpy.load(sys.argv[1], mmap_mode='r').shape[0])" "$data/features.npy")

# timed LABEL COMMAND...: "LABEL wall cpu rows/s", the command's output in $work/LABEL.log
timed() {
  local label="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$work/$label.time" "$@" >"$work/$label.log" 2>&1 || { tail -5 "$work/$label.log" >&2; return 1; }
  read -r wall user sys <"$work/$label.time"
  printf '%s wall %.2f s, cpu %.2f s, %.0f rows/s (whole process)\n' "$label" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "$n / $wall" | bc -l)"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
timed cli-fit ./ood4j fit --detector Mahalanobis --features "$data/features.npy" --labels "$data/labels.npy" -o "$work/cli-maha.ood4j" --quiet
grep -o 'in [0-9.]* s ([0-9]* rows/s)' "$work/cli-fit.log" | sed 's/^/  cli-fit inside the JVM: /'
timed cli-score ./ood4j score --state "$work/cli-maha.ood4j" --features "$data/features.npy" -o "$work/cli-scores.npy" --quiet

# Spark's module flags (Spark's JavaModuleOptions, as spark/pom.xml's spark.jvmArgs) and ood4j's
spark_opts="--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true"
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
cp="bench/target/classes:$(cat bench/target/classpath.txt)"
# shellcheck disable=SC2086
"$java" ${JAVA_OPTS:--Xmx4g} --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector $spark_opts \
  -Dlog4j2.level=warn -cp "$cp" org.ood4j.bench.SparkBench "$data" "$work" local[2] 16 2>"$work/spark.log" | tee "$work/spark.out"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# the two fits agree: the Spark-fitted state scored by the CLI against the CLI-fitted one's scores
./ood4j score --state "$work/spark-maha.ood4j" --features "$data/features.npy" -o "$work/spark-state-scores.npy" --quiet >/dev/null
python3 - "$work/cli-scores.npy" "$work/spark-state-scores.npy" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
print("largest relative difference, CLI fit vs Spark fit, on %d scores: %.3g" % (len(a), float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))))))
PY
