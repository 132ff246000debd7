#!/usr/bin/python3
"""Float64 PyTorch reference for still's Llama engine (tests/test_llama_torch.cpp).

Written from the math, not from any library's model code: Hugging Face tensor names,
rotate-half RoPE (with optional llama3 rope_scaling), grouped-query attention, attention
reset at document boundaries (token i sees j iff i - positions[i] <= j <= i), optional qkv
bias (Qwen2) and per-head q/k RMSNorm before RoPE (Qwen3), tied or untied LM head.

usage: llama_ref.py IN.safetensors OUT.safetensors
IN holds the F32 parameters, the I32 batch (batch.tokens/targets/positions, [B, T]) and in
its metadata the HF config ("config") and the AdamW settings ("adamw": lr, betas, eps,
weight_decay, steps). OUT gets F64 tensors: logits [B*T, V], loss [1], grad.<name> (of the
mean loss over scored targets) and adamw.<name> (weights after `steps` AdamW steps on the
same batch, torch.optim.AdamW with no decay on norms, biases and embeddings).
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[e["dtype"]])
        tensors[name] = arr.reshape(e["shape"])
    return tensors, meta


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype=np.float64).tobytes()
        header[name] = {"dtype": "F64", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def rope_inv_freq(cfg):
    hd = cfg["head_dim"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    rs = cfg.get("rope_scaling")
    kind = (rs or {}).get("rope_type", (rs or {}).get("type", "default"))
    if kind == "default":
        return inv
    if kind == "linear":
        return inv / rs["factor"]
    assert kind == "llama3", kind
    factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv
    smooth = (old / wavelen - low) / (high - low)
    interpolated = (1 - smooth) * inv / factor + smooth * inv
    out = torch.where(wavelen > old / low, inv / factor, inv)
    medium = (wavelen >= old / high) & (wavelen <= old / low)
    return torch.where(medium, interpolated, out)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(P, cfg, tokens, positions):
    B, T = tokens.shape
    H, KVH, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    ang = positions.double()[..., None] * rope_inv_freq(cfg)  # [B, T, hd/2]
    cos = torch.cat((ang, ang), -1).cos()[:, None]  # [B, 1, T, hd]
    sin = torch.cat((ang, ang), -1).sin()[:, None]
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    visible = (j <= i) & (j >= i - positions[:, :, None])  # [B, T, T]

    x = P["model.embed_tokens.weight"][tokens]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, P[p + "input_layernorm.weight"], eps)

        def proj(name, heads):
            y = h @ P[p + f"self_attn.{name}.weight"].T
            if cfg["attention_bias"]:
                y = y + P[p + f"self_attn.{name}.bias"]
            return y.view(B, T, heads, hd).transpose(1, 2)  # [B, heads, T, hd]

        q, k, v = proj("q_proj", H), proj("k_proj", KVH), proj("v_proj", KVH)
        if cfg["qk_norm"]:
            q = rms_norm(q, P[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, P[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KVH, dim=1)  # query head h reads kv head h // group
        v = v.repeat_interleave(H // KVH, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        scores = scores.masked_fill(~visible[:, None], float("-inf"))
        att = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + att @ P[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, P[p + "post_attention_layernorm.weight"], eps)
        gate = h @ P[p + "mlp.gate_proj.weight"].T
        up = h @ P[p + "mlp.up_proj.weight"].T
        x = x + (F.silu(gate) * up) @ P[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, P["model.norm.weight"], eps)
    head = P["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else P["lm_head.weight"]
    return (x @ head.T).reshape(B * T, -1)


def mean_loss(P, cfg, tokens, targets, positions):
    logits = forward(P, cfg, tokens, positions)
    return logits, F.cross_entropy(logits, targets.reshape(-1), ignore_index=-1, reduction="mean")


def decays(name):
    # Matmul weights decay; norms, biases and the (input) embedding do not.
    return name.endswith("proj.weight") or name == "lm_head.weight"


def main():
    tensors, meta = read_safetensors(sys.argv[1])
    cfg = json.loads(meta["config"])
    opt_cfg = json.loads(meta["adamw"])
    tokens = torch.from_numpy(tensors.pop("batch.tokens").astype(np.int64))
    targets = torch.from_numpy(tensors.pop("batch.targets").astype(np.int64))
    positions = torch.from_numpy(tensors.pop("batch.positions").astype(np.int64))
    P = {n: torch.tensor(a, dtype=torch.float64, requires_grad=True) for n, a in tensors.items()}

    logits, loss = mean_loss(P, cfg, tokens, targets, positions)
    loss.backward()
    out = {"logits": logits.detach().numpy(), "loss": np.array([loss.item()])}
    for n, t in P.items():
        out["grad." + n] = t.grad.numpy().copy()

    for t in P.values():
        t.grad = None
    groups = [
        {"params": [t for n, t in P.items() if decays(n)], "weight_decay": opt_cfg["weight_decay"]},
        {"params": [t for n, t in P.items() if not decays(n)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=opt_cfg["lr"], betas=(opt_cfg["beta1"], opt_cfg["beta2"]),
                            eps=opt_cfg["eps"])
    for _ in range(opt_cfg["steps"]):
        opt.zero_grad()
        mean_loss(P, cfg, tokens, targets, positions)[1].backward()
        opt.step()
    for n, t in P.items():
        out["adamw." + n] = t.detach().numpy()
    write_safetensors(sys.argv[2], out)


if __name__ == "__main__":
    main()
