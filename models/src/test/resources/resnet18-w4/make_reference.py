"""Reference for ResNets.resnet18(3, 10, width=4): random weights under torchvision's state_dict
names, an input batch, and the logits of PyTorch's forward semantics re-implemented in float64
NumPy (conv2d with zero padding, batch norm, ReLU, residual adds, adaptive average pooling, linear).
PyTorch itself was not available where this was made; the semantics are those of
torch.nn.functional (cross-checked on the conformance models, whose logits come from PyTorch).

Run: python3 make_reference.py   (writes weights.npz, x.npy, expected_*.npy)
"""
import numpy as np

rng = np.random.default_rng(2024)
W = 4
state = {}


def conv_w(name, o, i, k):
    state[name] = (rng.standard_normal((o, i, k, k)) * np.sqrt(2.0 / (i * k * k))).astype(np.float32)


def bn(name, c):
    state[name + ".weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
    state[name + ".bias"] = rng.uniform(-0.3, 0.3, c).astype(np.float32)
    state[name + ".running_mean"] = rng.uniform(-0.2, 0.2, c).astype(np.float32)
    state[name + ".running_var"] = rng.uniform(0.5, 2.0, c).astype(np.float32)
    state[name + ".num_batches_tracked"] = np.array(7, dtype=np.int64)


conv_w("conv1.weight", W, 3, 3)
bn("bn1", W)
blocks = []
cin = W
for s in range(4):
    cout = W << s
    for b in range(2):
        stride = (1 if s == 0 else 2) if b == 0 else 1
        p = f"layer{s + 1}.{b}"
        conv_w(p + ".conv1.weight", cout, cin if b == 0 else cout, 3)
        bn(p + ".bn1", cout)
        conv_w(p + ".conv2.weight", cout, cout, 3)
        bn(p + ".bn2", cout)
        down = b == 0 and (stride != 1 or cin != cout)
        if down:
            conv_w(p + ".downsample.0.weight", cout, cin, 1)
            bn(p + ".downsample.1", cout)
        blocks.append((p, stride, down))
    cin = cout
state["fc.weight"] = rng.uniform(-0.3, 0.3, (10, 8 * W)).astype(np.float32)
state["fc.bias"] = rng.uniform(-0.1, 0.1, 10).astype(np.float32)
x = rng.standard_normal((3, 3, 32, 32)).astype(np.float32)

S = {k: v.astype(np.float64) for k, v in state.items()}


def conv2d(x, w, stride, pad):
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]  # (n, c, oh, ow)
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out


def batchnorm(x, name, train, updates):
    g, b = S[name + ".weight"], S[name + ".bias"]
    if train:
        mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        n = x.shape[0] * x.shape[2] * x.shape[3]
        updates[name + ".running_mean"] = 0.9 * S[name + ".running_mean"] + 0.1 * mean
        updates[name + ".running_var"] = 0.9 * S[name + ".running_var"] + 0.1 * var * n / (n - 1)
    else:
        mean, var = S[name + ".running_mean"], S[name + ".running_var"]
    r = lambda v: v[None, :, None, None]
    return (x - r(mean)) / np.sqrt(r(var) + 1e-5) * r(g) + r(b)


def forward(x, train):
    updates = {}
    relu = lambda v: np.maximum(v, 0)
    h = relu(batchnorm(conv2d(x, S["conv1.weight"], 1, 1), "bn1", train, updates))
    for p, stride, down in blocks:
        o = relu(batchnorm(conv2d(h, S[p + ".conv1.weight"], stride, 1), p + ".bn1", train, updates))
        o = batchnorm(conv2d(o, S[p + ".conv2.weight"], 1, 1), p + ".bn2", train, updates)
        sc = batchnorm(conv2d(h, S[p + ".downsample.0.weight"], stride, 0), p + ".downsample.1", train, updates) if down else h
        h = relu(o + sc)
    maps = h
    feats = h.mean(axis=(2, 3))
    return feats @ S["fc.weight"].T + S["fc.bias"], maps, updates


logits, maps, _ = forward(x.astype(np.float64), False)
logits_train, _, updates = forward(x.astype(np.float64), True)
np.savez("weights.npz", **state)
np.save("x.npy", x)
np.save("expected_logits.npy", logits)
np.save("expected_feature_maps.npy", maps)
np.save("expected_logits_train.npy", logits_train)
np.save("expected_layer4_1_bn2_running_var.npy", updates["layer4.1.bn2.running_var"])
print(logits.shape, maps.shape, logits[0])
