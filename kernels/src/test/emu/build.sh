#!/usr/bin/env bash
# build.sh - builds the CUDA host emulator: our kernels (kernels/src/main/cuda/*.cu) compiled by
# g++ against emu.h, inside an emulated driver (libcuda.so.1), plus emulated cuBLAS
# (libcublas.so.13) and cuSOLVER (libcusolver.so.12). See emu.h for what it models and why.
#
# usage: kernels/src/test/emu/build.sh [OUT_DIR]   (default: kernels/target/cuda-emu)
#
# With OUT_DIR on LD_LIBRARY_PATH and CUDA_LIB_DIR, JCuda loads this libcuda.so.1 and the CUDA
# backend runs on it (the engine's and detectors' "cuda-emulator" test executions do so). Without
# g++ it prints why and exits 0: those executions then skip their tests with that reason.
# Rebuilds only when a source is newer than the libraries or the build flags changed; each build
# runs selftest.cpp first.
#
# Floating-point contraction (a*b+c as one fused multiply-add) follows nvcc: a .cu whose
# "// nvcc-flags:" line has -fmad=false is compiled with -ffp-contract=off, the others with
# -ffp-contract=fast -mfma (nvcc's default --fmad=true), where the CPU has FMA.
# OOD4J_CUDA_EMU_CONTRACT=1 contracts every file (the tolerance contract of the cuda package doc
# exercised on all kernels), =0 none (the exact host arithmetic).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kernels=$(cd "$here/../../.." && pwd)
cuda=$kernels/src/main/cuda
out=${1:-$kernels/target/cuda-emu}
cxx=${CXX:-g++}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "cuda-emu: no C++ compiler ($cxx); the emulated CUDA tests will be skipped"
  exit 0
fi
if [ "$(uname -m)" != x86_64 ]; then
  echo "cuda-emu: the emulator needs x86-64 (this is $(uname -m)); the emulated CUDA tests will be skipped"
  exit 0
fi
mkdir -p "$out"
libs=("$out/libcuda.so.1" "$out/libcublas.so.13" "$out/libcusolver.so.12")
contract=${OOD4J_CUDA_EMU_CONTRACT:-auto}
has_fma=0
grep -qw fma /proc/cpuinfo 2>/dev/null && has_fma=1
if [ "$contract" = 1 ] && [ $has_fma = 0 ]; then
  echo "cuda-emu: OOD4J_CUDA_EMU_CONTRACT=1 needs a CPU with FMA" >&2
  exit 1
fi
# The contraction flags for one .cu (see above).
contraction() {
  local fmad=1
  grep -qE '^// nvcc-flags:.*-fmad=false' "$1" && fmad=0
  case "$contract" in
    1) fmad=1 ;;
    0) fmad=0 ;;
  esac
  if [ $fmad = 1 ] && [ $has_fma = 1 ]; then echo "-ffp-contract=fast -mfma"; else echo "-ffp-contract=off"; fi
}
kernel_flags=()
for cu in "$cuda"/*.cu; do
  kernel_flags+=("$(basename "$cu" .cu):$(contraction "$cu" | tr ' ' ',')")
done
stale=0
for lib in "${libs[@]}"; do
  [ -f "$lib" ] || stale=1
done
[ "$(cat "$out/flags" 2>/dev/null)" = "${kernel_flags[*]}" ] || stale=1
if [ $stale = 0 ] && [ -z "$(find "$here" "$cuda" -type f -newer "$out/libcuda.so.1" | head -1)" ]; then
  echo "cuda-emu: up to date in $out"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags=(-std=c++17 -O2 -fPIC -fvisibility=hidden -fno-strict-aliasing -Wall -Wno-unknown-pragmas -Wno-unused-function
       -Wno-unused-variable -Wno-unused-but-set-variable -I "$here" -I "$tmp")
cp "$cuda"/*.cuh "$tmp"/
objects=()
for cu in "$cuda"/*.cu; do
  name=$(basename "$cu" .cu)
  # C++ has no `extern __shared__ T name[];`: the launch's dynamic shared memory instead
  sed -E 's/extern __shared__ ([A-Za-z_0-9 ]+) ([A-Za-z_0-9]+)\[\];/EMU_DYNAMIC_SHARED(\1, \2);/' "$cu" > "$tmp/$name.cu"
  {
    echo '#include "emu.h"'
    echo '#include "runtime.h"'
    echo "namespace emu_$name {"
    echo "#include \"$name.cu\""
    echo "}"
    grep -oE 'extern "C" __global__ void [A-Za-z_0-9]+' "$cu" | awk '{print $5}' | while read -r k; do
      echo "static emu::Registrar register_$k(\"$name\", \"$k\", &emu_$name::$k);"
    done
  } > "$tmp/$name.emu.cpp"
  objects+=("$tmp/$name.o")
done
# every other driver call JCuda's natives link: a function that answers CUDA_ERROR_NOT_SUPPORTED
{
  echo 'extern "C" int ood4j_emu_unsupported(const char*);'
  while read -r sym; do
    grep -qE "EXPORT CUresult $sym\(" "$here/driver.cpp" && continue
    echo "extern \"C\" __attribute__((visibility(\"default\"))) int $sym() { return ood4j_emu_unsupported(\"$sym\"); }"
  done < "$here/driver-symbols.txt"
} > "$tmp/stubs.cpp"
compile() { "$cxx" "${flags[@]}" -c "$1" -o "$2"; }
pids=()
for cu in "$cuda"/*.cu; do
  name=$(basename "$cu" .cu)
  read -r -a contract_flags <<< "$(contraction "$cu")"
  "$cxx" "${flags[@]}" "${contract_flags[@]}" -c "$tmp/$name.emu.cpp" -o "$tmp/$name.o" & pids+=($!)
done
compile "$here/runtime.cpp" "$tmp/runtime.o" & pids+=($!)
compile "$here/driver.cpp" "$tmp/driver.o" & pids+=($!)
compile "$tmp/stubs.cpp" "$tmp/stubs.o" & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done
"$cxx" "${flags[@]}" -o "$out/selftest" "$here/selftest.cpp" "$tmp/runtime.o"   # in OUT_DIR: /tmp may be noexec
"$out/selftest" || { echo "cuda-emu: the emulator's selftest failed; nothing installed" >&2; exit 1; }
"$cxx" -shared -Wl,-soname,libcuda.so.1 -o "$out/libcuda.so.1.tmp" "${objects[@]}" "$tmp/runtime.o" "$tmp/driver.o" "$tmp/stubs.o"
# cuBLAS and cuSOLVER run their work in stream order through libcuda.so.1 (submit.h)
"$cxx" "${flags[@]}" -shared -Wl,-soname,libcublas.so.13 -o "$out/libcublas.so.13.tmp" "$here/cublas.cpp" "$out/libcuda.so.1.tmp"
"$cxx" "${flags[@]}" -shared -Wl,-soname,libcusolver.so.12 -o "$out/libcusolver.so.12.tmp" "$here/cusolver.cpp" "$out/libcuda.so.1.tmp"
for lib in "${libs[@]}"; do mv "$lib.tmp" "$lib"; done
echo "${kernel_flags[*]}" > "$out/flags"
echo "cuda-emu: built $(ls "$cuda"/*.cu | wc -l) kernel files (${kernel_flags[*]}), libcuda.so.1, libcublas.so.13, libcusolver.so.12 in $out"
