#!/usr/bin/env python3
"""Writes the small seed corpora under fuzz/corpus/ (run once; the outputs are committed)."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def out(kind, name, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(kvs, tensors, align=32):
    h = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, typ, payload in kvs:
        h += gstr(key) + struct.pack("<I", typ) + payload
    off, blobs = 0, []
    for name, dims, typ, blob in tensors:
        h += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        h += struct.pack("<IQ", typ, off)
        blobs.append((off, blob))
        off = (off + len(blob) + align - 1) // align * align
    h += b"\0" * ((-len(h)) % align)
    data = bytearray(off)
    for o, blob in blobs:
        data[o:o + len(blob)] = blob
    return h + bytes(data)


def arr(typ, items, fmt=None):
    p = struct.pack("<IQ", typ, len(items))
    for it in items:
        p += gstr(it) if typ == 8 else struct.pack(fmt, it)
    return p


kvs = [
    ("general.architecture", 8, gstr("llama")),
    ("llama.block_count", 4, struct.pack("<I", 1)),
    ("llama.embedding_length", 4, struct.pack("<I", 32)),
    ("llama.rope.freq_base", 6, struct.pack("<f", 10000.0)),
    ("general.flag", 7, b"\x01"),
    ("general.big", 10, struct.pack("<Q", 1 << 40)),
    ("general.neg", 11, struct.pack("<q", -3)),
    ("general.f64", 12, struct.pack("<d", 0.5)),
    ("general.u8", 0, b"\x07"),
    ("general.i16", 3, struct.pack("<h", -9)),
    ("tokenizer.ggml.tokens", 9, arr(8, ["a", "b", "<s>"])),
    ("tokenizer.ggml.scores", 9, arr(6, [0.0, -1.0, -2.0], "<f")),
    ("tokenizer.ggml.token_type", 9, arr(5, [1, 1, 3], "<i")),
]
tensors = [
    ("token_embd.weight", [32, 3], 0, bytes(32 * 3 * 4)),
    ("blk.0.attn_q.weight", [32, 2], 8, bytes(2 * 34)),
    ("blk.0.ffn_up.weight", [32, 1], 2, bytes(18)),
    ("output_norm.weight", [32], 1, bytes(64)),
]
out("gguf", "model.gguf", gguf(kvs, tensors))
out("gguf", "vocab_only.gguf", gguf(kvs[:1] + kvs[10:], []))
out("gguf", "aligned64.gguf", gguf([("general.alignment", 4, struct.pack("<I", 64))] + kvs[:2],
                                   tensors[:2], 64))


def st(tensors, meta=None):
    h, off, blob = {}, 0, b""
    if meta:
        h["__metadata__"] = meta
    for name, dtype, shape, size in tensors:
        h[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + size]}
        off += size
        blob += bytes(size)
    hj = json.dumps(h).encode()
    hj += b" " * ((-len(hj)) % 8)
    return struct.pack("<Q", len(hj)) + hj + blob


out("safetensors", "model.safetensors",
    st([("a", "F32", [2, 3], 24), ("b", "BF16", [4], 8), ("c", "F16", [1, 1, 2], 4)],
       {"format": "pt"}))
out("safetensors", "empty_tensor.safetensors", st([("z", "I64", [0], 0), ("u", "U8", [3], 3)]))

out("config", "llama.json", json.dumps({
    "architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 96,
    "vocab_size": 256, "max_position_embeddings": 128, "rope_theta": 500000.0,
    "rms_norm_eps": 1e-5, "tie_word_embeddings": True, "bos_token_id": 1,
    "eos_token_id": [2, 3],
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}))
out("config", "qwen3.json", json.dumps({
    "model_type": "qwen3", "hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
    "num_key_value_heads": 1, "head_dim": 32, "intermediate_size": 64, "vocab_size": 300,
    "max_position_embeddings": 64}))
out("config", "still.json", json.dumps({
    "dim": 32, "n_layers": 1, "n_heads": 2, "ffn_dim": 64, "vocab_size": 256, "max_seq": 32,
    "qkv_bias": True}))

out("index", "index.json", json.dumps({
    "metadata": {"total_size": 123},
    "weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                   "lm_head.weight": "model-00002-of-00002.safetensors"}}))
