#!/usr/bin/env bash
# build-ptx.sh - compiles kernels/src/main/cuda/*.cu to PTX and checks it.
#
# usage: kernels/build-ptx.sh [OUT_DIR]   (default: kernels/src/main/resources/org/ood4j/kernels)
#
# For each .cu: nvcc -ptx -arch=compute_75 -O3 plus the flags of its "// nvcc-flags:" line (the
# per-kernel --fmad decision; see the cuda package doc's tolerance contract) (compute_75, Turing, is the oldest target nvcc 13
# accepts), then the header's ".version" is rewritten to 8.0 so that any CUDA 12 or 13 driver
# loads it (nvcc 13 writes 9.0, which drivers older than R580 refuse), then ptxas assembles the
# result for sm_75 and sm_90 (to /dev/null) to prove the rewritten PTX is still valid.
# The PTX is committed: a machine without nvcc builds the same jar, and KernelsPtxTest fails when
# the committed PTX differs from what this script makes from the sources.
#
# environment: NVCC (default: nvcc on PATH, else /usr/local/cuda-13.0/bin/nvcc); ptxas is taken
# from nvcc's folder.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/src/main/cuda
out=${1:-$here/src/main/resources/org/ood4j/kernels}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda-13.0/bin/nvcc)}
[ -x "$nvcc" ] || { echo "build-ptx: no nvcc (set NVCC)" >&2; exit 2; }
ptxas=$(dirname "$nvcc")/ptxas
[ -x "$ptxas" ] || ptxas=$(command -v ptxas) || { echo "build-ptx: no ptxas next to $nvcc" >&2; exit 2; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for cu in "$src"/*.cu; do
  name=$(basename "$cu" .cu)
  # per-file nvcc flags from the source's "// nvcc-flags:" line (text in parentheses is the reason)
  read -r -a extra <<< "$(sed -n -E 's|^// nvcc-flags: *([^(]*).*|\1|p' "$cu")"
  "$nvcc" -ptx -arch=compute_75 -O3 "${extra[@]}" -I "$src" "$cu" -o "$tmp/$name.ptx"
  sed -i -E 's/^\.version [0-9]+\.[0-9]+$/.version 8.0/' "$tmp/$name.ptx"
  grep -qx '.version 8.0' "$tmp/$name.ptx" || { echo "build-ptx: no .version line in $name.ptx" >&2; exit 1; }
  for sm in sm_75 sm_90; do
    "$ptxas" -arch=$sm -O3 "$tmp/$name.ptx" -o /dev/null
  done
  cp "$tmp/$name.ptx" "$out/$name.ptx"
  echo "build-ptx: $name.ptx ($(grep -c '^\.visible \.entry' "$out/$name.ptx") kernels; ptxas sm_75, sm_90 ok)"
done
