#!/usr/bin/python3
"""PyTorch side of bench/compare_torch.sh: the same Llama as still's preset (fp32, untied LM
head, rotate-half RoPE, causal attention, SwiGLU, RMSNorm), trained with torch.optim.AdamW on
random tokens, written the way a user would (nn.Linear, explicit softmax attention: torch 1.13
has no scaled_dot_product_attention). Prints one line: tokens/s.

usage: torch_llama_step.py PRESET B T STEPS [--bf16]
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {  # dim, layers, heads, ffn, vocab: as LlamaConfig::preset
    "stories15m": (288, 6, 6, 768, 32000),
    "small": (512, 8, 8, 1376, 8192),
}


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


def rope(x, cos, sin):  # x [B, H, T, hd]
    h = x.shape[-1] // 2
    rot = torch.cat((-x[..., h:], x[..., :h]), dim=-1)
    return x * cos + rot * sin


class Block(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.heads = heads
        self.attn_norm, self.ffn_norm = RMSNorm(d), RMSNorm(d)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, D = x.shape
        hd = D // self.heads
        h = self.attn_norm(x)
        q, k, v = (w(h).view(B, T, self.heads, hd).transpose(1, 2) for w in (self.wq, self.wk, self.wv))
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        s = (q @ k.transpose(-1, -2)) * hd**-0.5 + mask
        a = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.wo(a)
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, d, layers, heads, ffn, vocab, T):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, heads, ffn) for _ in range(layers))
        self.norm = RMSNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        hd = d // heads
        inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(T).float(), inv)
        ang = torch.cat((ang, ang), dim=-1)
        self.register_buffer("cos", ang.cos())
        self.register_buffer("sin", ang.sin())
        self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1))

    def forward(self, tokens, targets):
        x = self.embed(tokens)
        for b in self.blocks:
            x = b(x, self.cos, self.sin, self.mask)
        logits = self.head(self.norm(x))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def main():
    preset, B, T, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    bf16 = "--bf16" in sys.argv
    torch.manual_seed(0)
    d, layers, heads, ffn, vocab = PRESETS[preset]
    model = Llama(d, layers, heads, ffn, vocab, T)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    tokens = torch.randint(0, vocab, (B, T))
    targets = torch.randint(0, vocab, (B, T))

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(tokens, targets)
        loss.backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sec = (time.perf_counter() - t0) / steps
    print(f"torch {preset} B={B} T={T} threads={torch.get_num_threads()}: "
          f"{sec * 1e3:.0f} ms/step, {B * T / sec:.0f} tokens/s")


if __name__ == "__main__":
    main()
