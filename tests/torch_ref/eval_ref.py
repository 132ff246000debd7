#!/usr/bin/env python3
"""Independent PyTorch reference for `still eval`: held-out perplexity and HellaSwag-style
multiple choice on a Llama checkpoint, computed from the math in float64.

The Llama forward (HF tensor names, rotate-half RoPE, grouped-query attention, RMSNorm,
SwiGLU) is written here from scratch; weights are read from model.safetensors with json +
numpy. Tokenizer: raw bytes (vocab 256), which is what the test model uses.

usage: eval_ref.py CHECKPOINT_DIR TEXT_FILE WINDOW HELLASWAG_FILE  -> JSON on stdout
"""
import json
import math
import re
import struct
import sys

import numpy as np
import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info["dtype"]
        a, b = info["data_offsets"]
        arr = np.frombuffer(raw[base + a:base + b], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float64))
    return out


class Llama:
    def __init__(self, ckpt):
        cfg = json.load(open(ckpt + "/config.json"))
        self.D = cfg["hidden_size"]
        self.L = cfg["num_hidden_layers"]
        self.H = cfg["num_attention_heads"]
        self.KV = cfg["num_key_value_heads"]
        self.hd = cfg.get("head_dim") or self.D // self.H
        self.eps = cfg["rms_norm_eps"]
        self.theta = cfg["rope_theta"]
        self.max_seq = cfg["max_position_embeddings"]
        self.w = load_safetensors(ckpt + "/model.safetensors")
        if "lm_head.weight" not in self.w:
            self.w["lm_head.weight"] = self.w["model.embed_tokens.weight"]

    def rms(self, x, w):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + self.eps) * w

    def rope(self, x, pos):  # x [T, heads, hd]; rotate-half convention
        half = self.hd // 2
        inv = 1.0 / (self.theta ** (torch.arange(0, half, dtype=torch.float64) * 2 / self.hd))
        ang = pos.to(torch.float64)[:, None] * inv[None, :]
        cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :]
        sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :]
        rot = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * cos + rot * sin

    def logits(self, tokens, pos):
        """One row: tokens [T], positions [T] (restart per document). Returns [T, V]."""
        T = len(tokens)
        w = self.w
        x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
        pos = torch.tensor(pos)
        idx = torch.arange(T)
        # Token i sees j iff i - pos[i] <= j <= i (its own document, causally).
        allowed = (idx[None, :] <= idx[:, None]) & (idx[None, :] >= (idx - pos)[:, None])
        for l in range(self.L):
            p = "model.layers.%d." % l
            h = self.rms(x, w[p + "input_layernorm.weight"])
            q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, self.H, self.hd)
            k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, self.KV, self.hd)
            v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, self.KV, self.hd)
            q, k = self.rope(q, pos), self.rope(k, pos)
            rep = self.H // self.KV
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
            att = torch.einsum("thd,shd->hts", q, k) / math.sqrt(self.hd)
            att = att.masked_fill(~allowed[None], float("-inf")).softmax(-1)
            o = torch.einsum("hts,shd->thd", att, v).reshape(T, self.H * self.hd)
            x = x + o @ w[p + "self_attn.o_proj.weight"].T
            h = self.rms(x, w[p + "post_attention_layernorm.weight"])
            g = h @ w[p + "mlp.gate_proj.weight"].T
            u = h @ w[p + "mlp.up_proj.weight"].T
            x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
        x = self.rms(x, w["model.norm.weight"])
        return x @ w["lm_head.weight"].T


def documents(text):
    """Blank-line separated blocks, each its lines joined with '\\n' plus a final '\\n'."""
    docs, cur = [], []
    for line in text.split("\n"):
        if line.strip(" \t\r\f\v") == "":
            if cur:
                docs.append("\n".join(cur) + "\n")
                cur = []
        else:
            cur.append(line.rstrip("\r"))
    if cur:
        docs.append("\n".join(cur) + "\n")
    return docs


def perplexity(model, text, window):
    # Documents packed back to back into rows of `window` tokens; a token's target is the next
    # token of its document; positions restart per document and at each row start.
    toks, tgts, poss = [], [], []
    for d in documents(text):
        b = list(d.encode("utf-8"))
        if len(b) < 2:
            continue
        for i, t in enumerate(b):
            toks.append(t)
            tgts.append(b[i + 1] if i + 1 < len(b) else -1)
            poss.append(i)
    nats, count = 0.0, 0
    for r0 in range(0, len(toks), window):
        t, g = toks[r0:r0 + window], tgts[r0:r0 + window]
        p = []
        for k, pi in enumerate(poss[r0:r0 + window]):
            p.append(0 if k == 0 or pi == 0 else p[-1] + 1)
        lp = model.logits(t, p).log_softmax(-1)
        for i, tg in enumerate(g):
            if tg >= 0:
                nats -= lp[i, tg].item()
                count += 1
    return nats, count


def preprocess(text):  # lm-eval-harness hellaswag
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def context(line):
    label, _, body = line.partition(": ")
    cut = max(body.rfind(". "), body.rfind("! "), body.rfind("? "))
    ctx_a, ctx_b = (body[:cut + 2], body[cut + 2:]) if cut >= 0 else ("", body)
    if ctx_b[:1].islower() and ctx_b[-1:] not in (".", "!", "?"):
        ctx_b = ctx_b.capitalize()
    return preprocess(label + ": " + ctx_a + ctx_b)


def multiple_choice(model, text):
    lines = text.split("\n")
    while lines and lines[-1].strip() == "":
        lines.pop()
    out = []
    for i in range(0, len(lines), 6):
        ctx = context(lines[i])
        label = int(lines[i + 1])
        endings = [preprocess(e) for e in lines[i + 2:i + 6]]
        lps = []
        for e in endings:
            ctx_tok = list(ctx.encode("utf-8"))
            whole = list((ctx + " " + e).encode("utf-8"))
            n_cont = len(whole) - len(ctx_tok)
            seq = whole[-(model.max_seq + 1):]
            inp = seq[:-1]
            lp = model.logits(inp, list(range(len(inp)))).log_softmax(-1)
            s = sum(lp[j, seq[j + 1]].item() for j in range(len(inp) - n_cont, len(inp)))
            lps.append(s)
        acc = int(np.argmax(lps) == label)
        norm = [lp / len(e.encode("utf-8")) for lp, e in zip(lps, endings)]
        acc_norm = int(np.argmax(norm) == label)
        out.append({"logprobs": lps, "acc": acc, "acc_norm": acc_norm})
    return out


def main():
    ckpt, text_file, window, hs_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    model = Llama(ckpt)
    nats, count = perplexity(model, open(text_file, encoding="utf-8").read(), window)
    mc = multiple_choice(model, open(hs_file, encoding="utf-8").read())
    print(json.dumps({"nats": nats, "tokens": count, "mc": mc}))


if __name__ == "__main__":
    main()
