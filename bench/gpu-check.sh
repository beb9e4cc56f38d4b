#!/usr/bin/env bash
# gpu-check.sh - the GPU check of the CUDA backend, run from the bundle of ../shared/gpu/README.md.
#
# Build the bundle on the build machine (from the repository root):
#   ./mvnw -q -B -DskipTests package dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/deps -pl bench
#   bash ../shared/gpu/make-bundle.sh -m org.ood4j.bench.GpuCheck bench/target/ood4j-bench-0.1.0-SNAPSHOT.jar bench/target/deps
# (the local smoke run must print "no GPU: <reason>" and exit 0). Then, on the GPU host, from the
# repository root:
#   bash bench/gpu-check.sh            # tests + timings + summary, < 5 minutes
#   bash bench/gpu-check.sh --no-tests # timings only
# The output is also written to bench/results/<date>-gpu-check.txt; commit it with the card's name.
#
# What runs: org.ood4j.bench.GpuCheck, which (1) runs the engine's CUDA tests (JUnit Platform
# launcher over the classes of ood4j-engine-*-cudatests.jar), (2) runs the conformance cases of
# detectors/src/test/resources/conformance on the CUDA backend (ConformanceTest, from
# ood4j-detectors-*-conformancetests.jar), (3) times our kernels next to the card's own ceilings
# (cuMemcpyDtoD bandwidth, cuBLAS SGEMM), (4) prints a one-screen summary.
#
# Dry run without a GPU, on the CUDA host emulator (kernels/src/test/emu; tests and cases run,
# no timings are taken):
#   E=kernels/target/cuda-emu; LD_LIBRARY_PATH=$E CUDA_LIB_DIR=$E .gpu-bundle/jre/bin/java \
#     -cp '.gpu-bundle/jars/*' org.ood4j.bench.GpuCheck
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [ ! -x .gpu-bundle/run.sh ]; then
  echo "gpu-check: no .gpu-bundle/ here; build it first (see the top of $0)" >&2
  exit 2
fi
mkdir -p bench/results
out="bench/results/$(date +%F)-gpu-check.txt"
timeout 290 bash .gpu-bundle/run.sh org.ood4j.bench.GpuCheck "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
echo "gpu-check: exit $rc; output in $out"
exit "$rc"
