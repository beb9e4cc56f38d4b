#!/usr/bin/env python3
"""pytorch-ood on the ImageNet-size file, as a user would fit it (issue 18), under a hard memory cap.

    PYTHONPATH=/tmp/pood/src:/tmp/peerstub /usr/bin/python3 bench/scale-peer.py DATA OUT.md [DETECTOR ...]

DATA is a folder written by `ood4j bench --generate-scale DATA` (features.npy, labels.npy,
queries.npy, query_labels.npy). DETECTOR: Mahalanobis, KNN (default: both). Each detector runs in
its own child process, started through `prlimit --as=CAP` (CAP_GB, default 20 GiB of address
space) so that a fit that wants more memory fails inside the child (MemoryError / a torch
allocation error) instead of taking a shared 24 GB machine down. The child does what pytorch-ood's
documentation shows: np.load the arrays, torch.from_numpy, detector.fit_features(z, y), then
predict_features on the queries. The parent samples the child's /proc/PID/status every ~100 ms
for the peak RssAnon (anonymous memory) and VmHWM (peak RSS), and writes one markdown row per
detector and step: time, peak memory, and the outcome (ok, or the error's last line).

pytorch-ood's source: `git -C pytorch-ood archive dev src | tar -x -C /tmp/pood`; its torchmetrics
import is satisfied by /work/shared/bench/peer/torchmetrics_stub.sh (not used by these detectors).
"""
import json
import os
import subprocess
import sys
import time


def child(detector, data):
    """Runs in the capped process: load, fit, score; prints one JSON line per finished step."""
    import numpy as np
    import torch
    from pytorch_ood import detector as D

    torch.set_num_threads(os.cpu_count())
    t0 = time.time()
    z = torch.from_numpy(np.load(os.path.join(data, "features.npy")))
    y = torch.from_numpy(np.load(os.path.join(data, "labels.npy")))
    print(json.dumps({"step": "load", "seconds": time.time() - t0}), flush=True)
    det = D.Mahalanobis(None) if detector == "Mahalanobis" else D.KNN(None)
    t0 = time.time()
    if detector == "Mahalanobis":
        det.fit_features(z, y, device="cpu")
    else:
        det.fit_features(z, y)
    print(json.dumps({"step": "fit", "seconds": time.time() - t0}), flush=True)
    q = torch.from_numpy(np.load(os.path.join(data, "queries.npy")))
    t0 = time.time()
    scores = det.predict_features(q)
    print(json.dumps({"step": "score", "seconds": time.time() - t0, "rows": int(q.shape[0]),
                      "finite": bool(torch.isfinite(torch.as_tensor(scores)).all())}), flush=True)


def status_kb(pid):
    """(RssAnon, VmHWM) of a live process in kB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["RssAnon"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError):
        return None


def run(detector, data, cap_gb):
    """One capped child; returns (steps, peak RssAnon kB, peak RSS kB, wall seconds, outcome)."""
    cmd = ["prlimit", f"--as={cap_gb * 1024 ** 3}", sys.executable, os.path.abspath(__file__), "--child", detector, data]
    start = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    anon = hwm = 0
    target = None
    while p.poll() is None:
        if target is None:   # prlimit execs python in the same process
            target = p.pid
        s = status_kb(target)
        if s:
            anon, hwm = max(anon, s[0]), max(hwm, s[1])
        time.sleep(0.1)
    out, err = p.communicate()
    steps = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    last = [line for line in err.strip().splitlines() if line.strip()]
    outcome = "ok" if p.returncode == 0 else f"exit {p.returncode}: {last[-1] if last else 'no message'}"
    return steps, anon, hwm, time.time() - start, outcome


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    data, out = sys.argv[1], sys.argv[2]
    detectors = sys.argv[3:] or ["Mahalanobis", "KNN"]
    cap = int(os.environ.get("CAP_GB", "20"))
    import torch
    rows = [f"pytorch-ood (dev, {os.environ.get('PYTHONPATH', '')}) with torch {torch.__version__} on `{data}`, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, address space capped at {cap} GiB "
            f"(`prlimit --as`), load average at start {os.getloadavg()[0]:.1f}.", "",
            "| detector | steps done (s) | wall s | peak RssAnon GB | peak RSS GB | outcome |",
            "|---|---|---:|---:|---:|---|"]
    for det in detectors:
        steps, anon, hwm, wall, outcome = run(det, data, cap)
        done = ", ".join(f"{s['step']} {s['seconds']:.1f}" for s in steps) or "none"
        rows.append(f"| {det} | {done} | {wall:.1f} | {anon / 1048576:.2f} | {hwm / 1048576:.2f} | {outcome} |")
        print(rows[-1], flush=True)
    with open(out, "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
