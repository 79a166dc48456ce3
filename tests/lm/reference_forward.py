#!/usr/bin/env python3
"""Independent NumPy forward pass of an sjtalign model directory.

usage: reference_forward.py MODEL_DIR TOKENS.json LOGITS.f32 [TOL]

Reads config.json and model.safetensors (parsing the public safetensors
layout itself), runs the GPT forward pass in float64 on each token sequence
of TOKENS.json (a list of lists of ids), and compares the logits with
LOGITS.f32 (raw little-endian float32, sequences one after another, each
len x vocab). Prints the largest absolute difference; exits 1 when it
exceeds TOL (default 1e-4), 2 on unreadable input.
"""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen])
    data = raw[8 + hlen:]
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", name
        begin, end = meta["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype="<f4").astype(np.float64)
        tensors[name] = arr.reshape(meta["shape"])
    return tensors


def layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def forward(p, arch, tokens):
    T = len(tokens)
    C, H = arch["embd"], arch["heads"]
    hs = C // H
    x = p["wte"][tokens] + p["wpe"][:T]
    mask = np.tril(np.ones((T, T), dtype=bool))
    for l in range(arch["layers"]):
        g = lambda n: p["h.%d.%s" % (l, n)]
        h = layer_norm(x, g("ln_1.weight"), g("ln_1.bias"))
        qkv = h @ g("attn.qkv.weight").T + g("attn.qkv.bias")
        q, k, v = qkv[:, :C], qkv[:, C:2 * C], qkv[:, 2 * C:]
        y = np.zeros((T, C))
        for head in range(H):
            s = slice(head * hs, (head + 1) * hs)
            att = q[:, s] @ k[:, s].T / np.sqrt(hs)
            att = np.where(mask, att, -np.inf)
            att = np.exp(att - att.max(axis=1, keepdims=True))
            att /= att.sum(axis=1, keepdims=True)
            y[:, s] = att @ v[:, s]
        x = x + y @ g("attn.proj.weight").T + g("attn.proj.bias")
        h = layer_norm(x, g("ln_2.weight"), g("ln_2.bias"))
        h = gelu(h @ g("mlp.fc.weight").T + g("mlp.fc.bias"))
        x = x + h @ g("mlp.proj.weight").T + g("mlp.proj.bias")
    x = layer_norm(x, p["ln_f.weight"], p["ln_f.bias"])
    return x @ p["wte"].T


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    model_dir, tokens_path, logits_path = sys.argv[1:4]
    tol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-4
    with open(model_dir + "/config.json") as f:
        arch = json.load(f)["architecture"]
    p = read_safetensors(model_dir + "/model.safetensors")
    with open(tokens_path) as f:
        seqs = json.load(f)
    ours = np.fromfile(logits_path, dtype="<f4").astype(np.float64)
    V = arch["vocab"]
    worst = 0.0
    at = 0
    for seq in seqs:
        ref = forward(p, arch, np.array(seq, dtype=np.int64))
        got = ours[at:at + ref.size].reshape(ref.shape)
        at += ref.size
        worst = max(worst, float(np.abs(ref - got).max()))
    if at != ours.size:
        print("logits file holds %d values, expected %d" % (ours.size, at), file=sys.stderr)
        return 2
    scale = max(1.0, float(np.abs(ours).max()))
    print("max |logit difference| = %.3g (largest |logit| %.3g, vocab %d)" % (worst, scale, V))
    return 0 if worst <= tol else 1


if __name__ == "__main__":
    sys.exit(main())
