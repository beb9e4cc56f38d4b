#!/usr/bin/env python3
"""Derived rates of JMH results (JSON from -rf json): GB/s for the memory-bound benchmarks and
GFLOP/s for the compute-bound ones, with the formulas of the benchmark classes' docs; and the
issue's goal "logsumexp/softmax within 2x of the copy bandwidth" when both were measured.

Usage: bench/rates.py RESULT.json [...]
"""
import json
import sys


def seconds(r):
    unit = r["primaryMetric"]["scoreUnit"].split("/")[0]
    scale = {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[unit]
    return r["primaryMetric"]["score"] * scale


def rate(name, p):
    """(amount, unit) of work per op: bytes -> GB/s, flop -> GFLOP/s; None when time is all there is."""
    cls, method = name.split(".")[-2:]
    i = lambda k: int(p[k])
    if cls == "CopyBenchmark":   # copy and copyInto
        return 8 * i("n"), "GB/s"
    if cls == "ElementwiseBenchmark":
        return (12 if p["op"] == "add" else 8) * i("n"), "GB/s"
    if cls == "ReductionsBenchmark":
        return (8 if p["op"] == "softmax" else 4) * i("rows") * i("cols"), "GB/s"
    if cls == "JsonMatrixBenchmark":   # the body is mb MiB less under one row (printed exactly at setup)
        return i("mb") << 20, "GB/s"
    if cls == "MatmulBenchmark":
        return 2 * i("n") ** 3, "GFLOP/s"
    if cls == "LinalgBenchmark":
        n = i("n")
        return {"cholesky": n ** 3 / 3, "inverse": 2 * n ** 3, "eigh": 9 * n ** 3, "slogdet": 2 * n ** 3 / 3}[p["op"]], "GFLOP/s"
    if cls == "ConvBenchmark":
        return 2 * i("batch") * i("channels") ** 2 * i("size") ** 2 * 9, "GFLOP/s"
    if cls == "KnnBenchmark":
        return 2 * i("queries") * i("bankRows") * i("dim"), "GFLOP/s"
    if cls == "WhitenedDistancesBenchmark":   # the triangles' flops
        return i("rows") * i("classes") * i("dim") * (i("dim") + 1), "GFLOP/s"
    if cls == "LogitsDetectorsBenchmark":
        return 4 * i("rows") * i("classes"), "GB/s"
    if cls == "FeatureMapsDetectorsBenchmark" and p["detector"] in ("ReAct", "VRA"):
        return 4 * i("maps") * i("channels") * i("size") ** 2, "GB/s"
    if cls == "FeatureMapKernelsBenchmark" and "pool" in p["kernel"]:
        return 4 * i("maps") * i("channels") * i("size") ** 2, "GB/s"
    return None


def main(paths):
    rows, copy, lse = [], {}, {}
    for path in paths:
        try:
            with open(path) as f:
                results = json.load(f)
        except (OSError, ValueError) as e:
            print("(skipping %s: %s)" % (path, e), file=sys.stderr)
            continue
        for r in results:
            name, p = r["benchmark"], r.get("params", {})
            t = seconds(r)
            shown = ", ".join("%s=%s" % kv for kv in sorted(p.items()))
            w = rate(name, p)
            derived = "" if w is None else "%.1f %s" % (w[0] / t / 1e9, w[1])
            rows.append((name.split(".")[-2] + "." + name.split(".")[-1], shown, "%.4g %s" % (r["primaryMetric"]["score"], r["primaryMetric"]["scoreUnit"]), derived))
            key = p.get("backend", "cpu")
            if name.endswith("CopyBenchmark.copyInto"):
                copy[key] = w[0] / t / 1e9
            if name.endswith("ReductionsBenchmark.run") and p.get("op") in ("logsumexp", "softmax"):
                lse[(key, p["op"])] = w[0] / t / 1e9
    width = [max(len(r[k]) for r in rows) if rows else 0 for k in range(4)]
    for r in rows:
        print("  ".join(r[k].ljust(width[k]) for k in range(4)).rstrip())
    for (backend, op), gbs in sorted(lse.items()):
        if backend in copy:
            ratio = copy[backend] / gbs
            print("goal: %s %s at %.1f GB/s, copyInto at %.1f GB/s: %.2fx below the copy rate (goal <= 2x): %s"
                  % (backend, op, gbs, copy[backend], ratio, "met" if ratio <= 2 else "not met"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
