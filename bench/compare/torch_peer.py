#!/usr/bin/python3
"""PyTorch (CPU) peer of `ood4j bench`: the detector formulas of
shared/conformance/README.md ("Definitions of the expected values"), written here in plain torch
(not pytorch-ood), timed on the same workload folder (shared/bench/WORKLOADS.md), with the same
JSON rows: {"name", "fit_s", "predict_s", "backend": "cpu", "threads"}.

Per row: --warmup untimed runs, then the median of --repeats timed runs; fit and predict timed
separately, predict over the whole scoring array. Inputs are float32 and by default the work is
float32 (as pytorch-ood runs), except where the definitions need float64: the OpenMax Weibull part
and the temperature search (both as ood4j does them). --dtype float64 converts the inputs and
computes everything in float64, which is what ood4j does for most detectors (like for like).

Extra rows "<name>@ref" (--reference, on by default) time the predict of Mahalanobis, RMD and GMM
in the form of the reference implementation (pytorch-ood): per class the full N x N matrix
(x - mu) P (x - mu)^T, of which the diagonal is kept. They reuse the row's fitted state.

Usage: /usr/bin/python3 bench/compare/torch_peer.py --data DIR --out torch.json [--threads N]
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch

# ------------------------------------------------------------------ helpers


def energy(logits):
    return -torch.logsumexp(logits, 1)


def class_means(x, y, classes):
    sums = torch.zeros(classes, x.shape[1], dtype=x.dtype).index_add_(0, y, x)
    counts = torch.bincount(y, minlength=classes).to(x.dtype)
    return sums / counts.unsqueeze(1), counts


def head_logits(z, w, b):
    return torch.addmm(b, z, w.t())


def pool_linear(maps, w, b):
    """The workload's maps head: global average pooling, then the linear head."""
    return head_logits(maps.mean(dim=(2, 3)), w, b)


def min_class_distance(z, mu, precision):
    """Squared Mahalanobis distances (N, K) to every class mean, one (N x D)(D x D) product:
    d_k = z'Pz - 2 z'P mu_k + mu_k'P mu_k."""
    zp = z @ precision
    quad = (zp * z).sum(1, keepdim=True)
    cross = zp @ mu.t()
    offsets = ((mu @ precision) * mu).sum(1)
    return (quad - 2 * cross + offsets).clamp_min(0)


def reference_distance(z, mu_k, precision):
    """pytorch-ood's form: the full N x N matrix (z - mu) P (z - mu)^T, then its diagonal."""
    d = z - mu_k
    return torch.mm(torch.mm(d, precision), d.t()).diag()


def scatter(centred, eps):
    s = centred.t() @ centred
    return s + eps * torch.eye(s.shape[0], dtype=s.dtype)


# ------------------------------------------------------------------ logits detectors


def maxsoftmax(w, state):
    return -torch.softmax(w["logits"], 1).max(1).values


def energybased(w, state):
    return energy(w["logits"])


def entropy(w, state):
    p = torch.softmax(w["logits"], 1).clamp(1e-7, 1)
    return -(p * p.log()).sum(1)


def maxlogit(w, state):
    return -w["logits"].max(1).values


def gen(w, state, gamma=0.1):
    p = torch.softmax(w["logits"], 1)
    c = p.clamp(1e-7, 1 - 1e-7)
    q = (1 - p).clamp(1e-7, 1 - 1e-7)
    return (c.pow(gamma) * q.pow(gamma)).sum(1)


def klmatching_fit(w):
    x = w["logits_fit"]
    classes = x.shape[1]
    p = torch.softmax(x, 1)
    pred = p.argmax(1)
    dists, counts = class_means(p, pred, classes)
    return {"dists": torch.where(counts.unsqueeze(1) > 0, dists, torch.ones_like(dists)), "seen": counts > 0}


def klmatching(w, state):
    x = w["logits"]
    logp = torch.log_softmax(x, 1)
    p = logp.exp()
    pred = p.argmax(1)
    d = state["dists"][pred]
    kl = torch.where(p > 0, p * (logp - d.log()), torch.zeros_like(p)).sum(1)
    return torch.where(state["seen"][pred], kl, torch.full_like(kl, math.inf))


def temperature_fit(w):
    """T = 1/beta minimising the mean NLL of softmax(beta z): bracket, then safeguarded Newton
    on L'(beta) (the algorithm ood4j uses), float64."""
    z = w["logits_fit"].double()
    y = w["logits_fit_y"]
    zy = z.gather(1, y.unsqueeze(1)).squeeze(1)

    def derivatives(beta):
        p = torch.softmax(beta * z, 1)
        mean = (p * z).sum(1)
        var = (p * (z - mean.unsqueeze(1)) ** 2).sum(1)
        return (mean - zy).mean().item(), var.mean().item()

    lo, hi = 1e-4, 1e4
    if derivatives(lo)[0] >= 0:
        return {"t": 1 / lo}
    if derivatives(hi)[0] <= 0:
        return {"t": 1 / hi}
    beta = 1.0
    for _ in range(200):
        d1, d2 = derivatives(beta)
        if d1 == 0:
            break
        if d1 < 0:
            lo = beta
        else:
            hi = beta
        nxt = beta - d1 / d2 if d2 > 0 else float("nan")
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - beta) <= 1e-15 * beta or hi - lo <= 1e-15 * hi:
            beta = nxt
            break
        beta = nxt
    return {"t": 1 / beta}


def temperaturescaling(w, state):
    return -torch.softmax(w["logits"] / state["t"], 1).max(1).values


OPENMAX_TAIL, OPENMAX_ALPHA, TRANSLATE = 25, 10, 10000.0


def weibull_fit(tails, valid):
    """Maximum-likelihood Weibull (location 0) per row of tails (K, n) where valid (K, n), float64,
    all rows at once: the shape k solves 1/k + mean(ln u) - sum(u^k ln u)/sum(u^k) = 0 with
    u = t / max t (decreasing in k), found by bisection on log k; lambda = max t (mean u^k)^(1/k)."""
    tails = torch.where(valid, tails, torch.ones_like(tails))
    count = valid.sum(1).double()
    tmax = torch.where(valid, tails, torch.zeros_like(tails)).max(1, keepdim=True).values
    lnu = torch.where(valid, torch.log(tails / tmax), torch.zeros_like(tails))
    mean_lnu = lnu.sum(1) / count
    lo = torch.full_like(mean_lnu, math.log(1e-6))
    hi = torch.full_like(mean_lnu, math.log(1e12))
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        k = mid.exp().unsqueeze(1)
        wts = torch.exp(k * lnu) * valid
        f = 1 / k.squeeze(1) + mean_lnu - (wts * lnu).sum(1) / wts.sum(1)
        lo = torch.where(f > 0, mid, lo)
        hi = torch.where(f > 0, hi, mid)
    k = (0.5 * (lo + hi)).exp()
    mean_uk = (torch.exp(k.unsqueeze(1) * lnu) * valid).sum(1) / count
    return k, tmax.squeeze(1) * torch.exp(torch.log(mean_uk) / k)


def openmax_fit(w):
    x = w["logits_fit"].double()
    y = w["logits_fit_y"]
    classes = x.shape[1]
    correct = x.argmax(1) == y
    xc, yc = x[correct], y[correct]
    mu, counts = class_means(xc, yc, classes)
    d = (xc - mu[yc]).norm(dim=1)
    # per class, the tailsize largest distances: sort by (class, distance descending), take the
    # first tailsize of each class group into a padded (K, tailsize) array
    order = torch.argsort(yc * (1 + d.max()) * 2 - d)
    d_sorted, y_sorted = d[order], yc[order]
    starts = torch.cumsum(counts.long(), 0) - counts.long()
    rank = torch.arange(d.numel()) - starts[y_sorted]
    take = rank < OPENMAX_TAIL
    tails = torch.zeros(classes, OPENMAX_TAIL, dtype=torch.float64)
    valid = torch.zeros(classes, OPENMAX_TAIL, dtype=torch.bool)
    tails[y_sorted[take], rank[take]] = d_sorted[take]
    valid[y_sorted[take], rank[take]] = True
    shift = TRANSLATE - torch.where(valid, tails, torch.full_like(tails, math.inf)).min(1).values
    k, lam = weibull_fit(tails + shift.unsqueeze(1), valid)
    return {"mu": mu, "k": k, "lam": lam, "shift": shift}


def openmax(w, state, chunk=2048):
    x = w["logits"]
    out = torch.empty(x.shape[0], dtype=torch.float64)
    a = min(OPENMAX_ALPHA, x.shape[1])
    weight = (a - torch.arange(a, dtype=torch.float64)) / a
    for s in range(0, x.shape[0], chunk):
        l = x[s:s + chunk].double()
        idx = torch.topk(l, a, dim=1).indices                              # (n, a), largest first
        d = (state["mu"][idx] - l.unsqueeze(1)).norm(dim=2)                # (n, a)
        t = d + state["shift"][idx]
        wc = -torch.expm1(-torch.pow(t / state["lam"][idx], state["k"][idx])) * weight
        lc = l.gather(1, idx)
        revised = l.scatter(1, idx, lc * (1 - wc))
        v0 = (lc * wc).sum(1, keepdim=True)
        out[s:s + chunk] = torch.softmax(torch.cat([v0, revised], 1), 1)[:, 0]
    return out


# ------------------------------------------------------------------ features detectors


def gaussians_fit(w):
    x, y = w["feat_fit_x"], w["feat_fit_y"]
    classes = int(y.max()) + 1
    mu, _ = class_means(x, y, classes)
    cov = scatter(x - mu[y], 1e-6)
    return {"mu": mu, "precision": torch.linalg.inv(cov)}


def mahalanobis(w, state):
    return 0.5 * min_class_distance(w["feat_x"], state["mu"], state["precision"]).min(1).values


def mahalanobis_ref(w, state):
    z, mu, p = w["feat_x"], state["mu"], state["precision"]
    d = torch.stack([reference_distance(z, mu[k], p) for k in range(mu.shape[0])], 1)
    return 0.5 * d.min(1).values


def rmd_fit(w):
    state = gaussians_fit(w)
    x = w["feat_fit_x"]
    mu0 = x.mean(0, keepdim=True)
    state["mu0"] = mu0
    state["precision0"] = torch.linalg.inv(scatter(x - mu0, 1e-6))
    return state


def rmd(w, state):
    z = w["feat_x"]
    d = min_class_distance(z, state["mu"], state["precision"])
    d0 = min_class_distance(z, state["mu0"], state["precision0"])
    return (d - d0).min(1).values


def rmd_ref(w, state):
    z, mu, p = w["feat_x"], state["mu"], state["precision"]
    d = torch.stack([reference_distance(z, mu[k], p) for k in range(mu.shape[0])], 1)
    d0 = reference_distance(z, state["mu0"][0], state["precision0"])
    return (d - d0.unsqueeze(1)).min(1).values


def gmm_fit(w, reg=1e-6):
    x, y = w["feat_fit_x"], w["feat_fit_y"]
    classes = int(y.max()) + 1
    dim = x.shape[1]
    mu, counts = class_means(x, y, classes)
    precisions, log_norm = [], []
    for k in range(classes):
        rows = x[y == k] - mu[k]
        cov = rows.t() @ rows / counts[k] + reg * torch.eye(dim)
        precisions.append(torch.linalg.inv(cov))
        logdet = torch.linalg.slogdet(cov).logabsdet
        log_norm.append(torch.log(counts[k] / x.shape[0]) - 0.5 * (dim * math.log(2 * math.pi) + logdet))
    return {"mu": mu, "precisions": torch.stack(precisions), "log_norm": torch.stack(log_norm)}


def gmm(w, state):
    z = w["feat_x"]
    mu, ps = state["mu"], state["precisions"]
    ll = torch.stack([-0.5 * (((z - mu[k]) @ ps[k]) * (z - mu[k])).sum(1) for k in range(mu.shape[0])], 1)
    return -torch.logsumexp(ll + state["log_norm"], 1)


def gmm_ref(w, state):
    z = w["feat_x"]
    mu, ps = state["mu"], state["precisions"]
    ll = torch.stack([-0.5 * reference_distance(z, mu[k], ps[k]) for k in range(mu.shape[0])], 1)
    return -torch.logsumexp(ll + state["log_norm"], 1)


def knn_fit(w):
    bank = w["feat_fit_x"].clone()
    return {"bank": bank, "bank_sq": (bank * bank).sum(1)}


def knn(w, state, chunk=1024):
    """Exact 1-NN L2 distance, query chunks: |q|^2 - 2 q.b + |b|^2 (what torch.cdist does for
    large inputs), no full query x bank matrix."""
    z, bank, bsq = w["feat_x"], state["bank"], state["bank_sq"]
    out = torch.empty(z.shape[0])
    for s in range(0, z.shape[0], chunk):
        q = z[s:s + chunk]
        d2 = torch.addmm(bsq, q, bank.t(), alpha=-2).add_((q * q).sum(1, keepdim=True))
        out[s:s + chunk] = d2.min(1).values.clamp_min(0).sqrt()
    return out


def nnguide_fit(w):
    x = w["feat_fit_x"]
    e = torch.logsumexp(head_logits(x, w["head_w"], w["head_b"]), 1, keepdim=True)
    return {"bank": x * e}


def nnguide(w, state, k=10, chunk=1024):
    z, bank = w["feat_x"], state["bank"]
    out = torch.empty(z.shape[0])
    for s in range(0, z.shape[0], chunk):
        q = z[s:s + chunk]
        sim = torch.topk(q @ bank.t(), k, dim=1).values.mean(1)
        out[s:s + chunk] = -sim * torch.logsumexp(head_logits(q, w["head_w"], w["head_b"]), 1)
    return out


def vim_fit(w, d=64):
    W, b = w["head_w"], w["head_b"]
    x = w["feat_fit_x"]
    dim = x.shape[1]
    d = d if dim > 64 else max(1, dim // 2)
    u = -(torch.linalg.pinv(W) @ b)
    xc = x - u
    cov = xc.t() @ xc / x.shape[0]
    _, vectors = torch.linalg.eigh(cov)                     # ascending eigenvalues
    residual = vectors[:, :dim - d].contiguous()
    r = (xc @ residual).norm(dim=1)
    alpha = head_logits(x, W, b).max(1).values.mean() / r.mean()
    return {"u": u, "residual": residual, "alpha": alpha}


def vim(w, state):
    z = w["feat_x"]
    virtual = ((z - state["u"]) @ state["residual"]).norm(dim=1) * state["alpha"]
    return virtual - torch.logsumexp(head_logits(z, w["head_w"], w["head_b"]), 1)


def she_fit(w):
    x, y = w["feat_fit_x"], w["feat_fit_y"]
    classes = w["head_w"].shape[0]
    pred = head_logits(x, w["head_w"], w["head_b"]).argmax(1)
    ok = pred == y
    patterns, counts = class_means(x[ok], y[ok], classes)
    return {"patterns": torch.where(counts.unsqueeze(1) > 0, patterns, torch.zeros_like(patterns)), "seen": counts > 0}


def she(w, state):
    z = w["feat_x"]
    pred = head_logits(z, w["head_w"], w["head_b"]).argmax(1)
    e = -(z * state["patterns"][pred]).sum(1)
    return torch.where(state["seen"][pred], e, torch.full_like(e, math.inf))


def dice_fit(w, p=0.7):
    m = w["feat_fit_x"].mean(0, keepdim=True)
    contrib = m * w["head_w"]
    threshold = torch.quantile(contrib.flatten(), p)
    return {"w": w["head_w"] * (contrib > threshold)}


def dice(w, state):
    return energy(head_logits(w["feat_x"], state["w"], w["head_b"]))


def mean_fit(w):
    return {"mean": w["feat_fit_x"].mean(0, keepdim=True)}


def nci(w, state):
    z = w["feat_x"]
    c = head_logits(z, w["head_w"], w["head_b"]).argmax(1)
    zc = z - state["mean"]
    norm = zc.norm(dim=1)
    dot = (zc * w["head_w"][c]).sum(1)
    return -torch.where(norm > 0, dot / norm, torch.zeros_like(norm))


def fdbd_fit(w):
    state = mean_fit(w)
    W = w["head_w"]
    state["norms"] = torch.cdist(W, W)                               # ||w_i - w_j|| (C, C)
    return state


def fdbd(w, state):
    z = w["feat_x"]
    logits = head_logits(z, w["head_w"], w["head_b"])
    pred = logits.argmax(1, keepdim=True)
    gaps = (logits.gather(1, pred) - logits).abs()
    norms = state["norms"][pred.squeeze(1)]
    norms = norms.scatter(1, pred, 1.0)                              # the c = yhat term: 0 / 1
    ratios = (gaps / norms).sum(1)
    distance = (z - state["mean"]).norm(dim=1)
    return -ratios / distance / (logits.shape[1] - 1)


# ------------------------------------------------------------------ feature-map detectors


def ash(w, state, percentile=0.65):
    x = w["fmaps"]
    n_, c, h, wd = x.shape
    flat = x.reshape(n_, -1)
    n = flat.shape[1]
    k = n - round(n * percentile)                       # Python's round: half to even
    total = flat.sum(1, keepdim=True)
    values, idx = torch.topk(flat, k, dim=1)
    kept = values.sum(1, keepdim=True)
    scale = torch.where(kept == 0, torch.ones_like(kept), torch.exp(total / kept))
    shaped = torch.zeros_like(flat).scatter_(1, idx, values * scale).reshape(x.shape)
    return energy(pool_linear(shaped, w["head_w"], w["head_b"]))


def react(w, state, threshold=1.0):
    return energy(pool_linear(w["fmaps"].clamp(max=threshold), w["head_w"], w["head_b"]))


def vra_fit(w, lower=1.0, upper=99.0):
    maps = w["fmaps"]
    fit = maps[:max(1, maps.shape[0] // 2)]
    flat = fit.reshape(fit.shape[0], -1)
    q = torch.quantile(flat, torch.tensor([lower / 100, upper / 100]), dim=0)
    return {"lower": q[0].reshape(maps.shape[1:]), "upper": q[1].reshape(maps.shape[1:])}


def vra(w, state):
    x = torch.max(torch.min(w["fmaps"], state["upper"]), state["lower"])
    return energy(pool_linear(x, w["head_w"], w["head_b"]))


def rankfeat(w, state):
    x = w["fmaps"]
    n_, c, h, wd = x.shape
    m = x.reshape(n_, c, h * wd)
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    m = m - s[:, :1].unsqueeze(2) * u[:, :, :1] @ vh[:, :1, :]
    return energy(pool_linear(m.reshape(x.shape), w["head_w"], w["head_b"]))


# name -> (fit or None, predict)
ROWS = {
    "MaxSoftmax": (None, maxsoftmax),
    "EnergyBased": (None, energybased),
    "Entropy": (None, entropy),
    "MaxLogit": (None, maxlogit),
    "GEN": (None, gen),
    "KLMatching": (klmatching_fit, klmatching),
    "TemperatureScaling": (temperature_fit, temperaturescaling),
    "OpenMax": (openmax_fit, openmax),
    "Mahalanobis": (gaussians_fit, mahalanobis),
    "RMD": (rmd_fit, rmd),
    "GMM": (gmm_fit, gmm),
    "KNN": (knn_fit, knn),
    "NNGuide": (nnguide_fit, nnguide),
    "ViM": (vim_fit, vim),
    "SHE": (she_fit, she),
    "DICE": (dice_fit, dice),
    "NCI": (mean_fit, nci),
    "fDBD": (fdbd_fit, fdbd),
    "ASH": (None, ash),
    "ReAct": (None, react),
    "VRA": (vra_fit, vra),
    "RankFeat": (None, rankfeat),
}

REFERENCE = {"Mahalanobis": mahalanobis_ref, "RMD": rmd_ref, "GMM": gmm_ref}

FILES = ["logits_fit", "logits_fit_y", "logits", "feat_fit_x", "feat_fit_y", "feat_x", "head_w", "head_b", "fmaps"]


def blas_in_use():
    """Which BLAS library torch's matmul runs on (Debian's python3-torch uses the system's
    libblas.so.3: the reference netlib BLAS unless OpenBLAS is installed or preloaded)."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower()}
    except OSError:
        return "unknown"
    names = sorted(os.path.realpath(l) for l in libs if l.startswith("/"))
    if any("openblas" in n for n in names):
        return "openblas"
    if any("mkl" in n for n in names):
        return "mkl"
    return "netlib (reference BLAS)" if names else "unknown"


def load(folder):
    return {name: torch.from_numpy(np.load(os.path.join(folder, name + ".npy"))) for name in FILES}


def compare(scores, path):
    """max |a - b| / (|b| + 1e-3 mean|b| + 1e-9) between these scores and the saved ones (equal
    infinities count as equal); None when there is no such file."""
    if not os.path.exists(path):
        return None
    a = scores.double().numpy()
    b = np.load(path).astype(np.float64)
    same = (a == b)
    finite = np.isfinite(b)
    scale = np.abs(b[finite]).mean() if finite.any() else 1.0
    with np.errstate(invalid="ignore"):
        rel = np.abs(a - b) / (np.abs(b) + 1e-3 * scale + 1e-9)
    rel[same] = 0
    return float(np.nan_to_num(rel, nan=np.inf).max())


def time_row(w, fit, predict, warmup, repeats):
    fits, predicts, state = [], [], None
    for run in range(warmup + repeats):
        t0 = time.perf_counter()
        state = fit(w) if fit else None
        t1 = time.perf_counter()
        scores = predict(w, state)
        float(scores[0])
        t2 = time.perf_counter()
        if run >= warmup:
            fits.append(t1 - t0)
            predicts.append(t2 - t1)
    return (statistics.median(fits) if fit else None), statistics.median(predicts), state


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="workload folder (WORKLOADS.md layout)")
    ap.add_argument("--out", required=True, help="JSON rows to write")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all cores)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated row names")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                    help="compute in this precision (float32: as pytorch-ood; float64: as ood4j computes most detectors)")
    ap.add_argument("--check", default="", help="folder of ood4j's scores (ood4j bench --save-scores): report the largest difference")
    ap.add_argument("--no-reference", action="store_true", help="skip the O(N^2) reference rows")
    ap.add_argument("--reference-repeats", type=int, default=1, help="timed runs of each reference row (no warm-up)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    w = load(args.data)
    if args.dtype == "float64":
        w = {k: (v.double() if v.is_floating_point() else v) for k, v in w.items()}
        torch.set_default_dtype(torch.float64)
    only = [s for s in args.only.split(",") if s]
    blas = blas_in_use()
    print("torch %s, %d threads, BLAS: %s; workload %s: %s" % (torch.__version__, torch.get_num_threads(), blas, args.data,
          ", ".join("%s %s" % (k, list(w[k].shape)) for k in ("logits_fit", "logits", "feat_fit_x", "feat_x", "fmaps"))))
    print("%d warm-up + %d timed runs per row, median; computing in %s" % (args.warmup, args.repeats, args.dtype))
    print("%-20s %10s %10s" % ("row", "fit_s", "predict_s"))
    rows = []
    for name, (fit, predict) in ROWS.items():
        if only and name not in only:
            continue
        fit_s, predict_s, state = time_row(w, fit, predict, args.warmup, args.repeats)
        row = {"name": name, "fit_s": fit_s, "predict_s": predict_s, "backend": "cpu", "threads": torch.get_num_threads(),
               "blas": blas, "dtype": args.dtype}
        note = ""
        if args.check:
            diff = compare(predict(w, state), os.path.join(args.check, name + ".npy"))
            if diff is not None:
                row["max_rel_diff_ood4j"] = diff
                note = "   scores vs ood4j: max rel. diff %.1e" % diff
        rows.append(row)
        print("%-20s %10s %10.4f%s" % (name, "-" if fit_s is None else "%.4f" % fit_s, predict_s, note), flush=True)
        if name in REFERENCE and not args.no_reference:
            ref = REFERENCE[name]
            scores = predict(w, state)
            times = []
            for _ in range(args.reference_repeats):
                t0 = time.perf_counter()
                ref_scores = ref(w, state)
                times.append(time.perf_counter() - t0)
            agree = float(((ref_scores.double() - scores.double()).abs() / (scores.double().abs() + 1)).max())
            rows.append({"name": name + "@ref", "fit_s": None, "predict_s": statistics.median(times), "backend": "cpu",
                         "threads": torch.get_num_threads(), "blas": blas, "dtype": args.dtype, "max_rel_diff": agree})
            print("%-20s %10s %10.4f   (O(N^2) reference form; max rel. diff to the row's scores %.1e)"
                  % (name + "@ref", "-", statistics.median(times), agree), flush=True)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
        f.write("\n")
    print("wrote %d rows to %s" % (len(rows), args.out))


if __name__ == "__main__":
    sys.exit(main())
