#!/usr/bin/env python3
"""pytorch-ood's fits of Mahalanobis, RMD, GMM (torch formula where pytorch-ood has none) and ViM on the quick workload, in
wall-clock and process CPU time (all threads), as bench/.../QuickFitTimes.java times ood4j's (issue 17).

    PYTHONPATH=/tmp/pood/src:/tmp/peerstub /usr/bin/python3 bench/quick-fit-times.py WORKLOAD_DIR [REPEATS]
"""
import os
import sys
import time

import numpy as np
import torch



def gmm_fit(fx, fy):
    """peer_bench.py's torch formula for GMM (pytorch-ood has none): a float64 Gaussian per class."""
    k, dim = int(fy.max()) + 1, fx.shape[1]
    dists = []
    for c in range(k):
        zk = fx[fy == c].double()
        cov = torch.cov(zk.T) + 1e-6 * torch.eye(dim, dtype=torch.float64)
        dists.append(torch.distributions.MultivariateNormal(zk.mean(0), covariance_matrix=cov))
    return dists, torch.log(torch.bincount(fy).double() / len(fy))


def main():
    d = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    torch.set_num_threads(os.cpu_count())
    import pytorch_ood.detector as Dt
    L = lambda n: torch.from_numpy(np.load(os.path.join(d, n + ".npy")))  # noqa: E731
    fx, fy, w, b = L("feat_fit_x"), L("feat_fit_y"), L("head_w"), L("head_b")
    head = torch.nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        head.weight.copy_(w)
        head.bias.copy_(b)
    rows = {
        "Mahalanobis": lambda: Dt.Mahalanobis(None).fit_features(fx, fy, device="cpu"),
        "RMD": lambda: Dt.RMD(None).fit_features(fx, fy, device="cpu"),
        "ViM": lambda: Dt.ViM(None, d=64, w=w, b=b).fit_features(fx, fy),
    }
    rows["GMM (torch formula)"] = lambda: gmm_fit(fx, fy)
    for name, fit in rows.items():
        wall, cpu = [], []
        for run in range(-2, repeats):
            c0, t0 = time.process_time(), time.perf_counter()
            with torch.no_grad():
                fit()
            if run >= 0:
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        print(f"{name:20s} fit wall {np.median(wall):.4f} s  cpu {np.median(cpu):.4f} s  (median of {repeats})", flush=True)


if __name__ == "__main__":
    main()
