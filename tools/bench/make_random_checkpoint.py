#!/usr/bin/env python3
"""Writes a random-weight LlamaForCausalLM checkpoint in Hugging Face layout for benchmarks.

Real weights cannot be downloaded here; throughput depends only on shapes and dtype, so random
weights of a real model's shape measure the same thing. numpy only (Debian python3-numpy):

    /usr/bin/python3 tools/bench/make_random_checkpoint.py OUT_DIR [--hidden 1024 --layers 8 ...]

Matrices are N(0, 1/in_features), so each projection keeps activations at unit scale.
make_llama32_1b.py calls main() with Llama-3.2-1B's shape.
"""
import argparse
import json
import os

import numpy as np


def to_bf16(a):
    # Round to nearest even, as torch does.
    u = a.astype(np.float32).view(np.uint32)
    u = u + 0x7FFF + ((u >> 16) & 1)
    return (u >> 16).astype(np.uint16)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--intermediate", type=int, default=2816)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--heads", type=int, default=16)
    p.add_argument("--kv-heads", type=int, default=4)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--dtype", choices=["bf16", "f32"], default="bf16")
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--max-position", type=int, default=4096)
    a = p.parse_args(argv)
    rng = np.random.default_rng(0)
    hd = a.hidden // a.heads
    shapes = {"model.embed_tokens.weight": (a.vocab, a.hidden), "model.norm.weight": (a.hidden,),
              "lm_head.weight": (a.vocab, a.hidden)}
    for i in range(a.layers):
        pre = f"model.layers.{i}."
        shapes.update({
            pre + "input_layernorm.weight": (a.hidden,),
            pre + "post_attention_layernorm.weight": (a.hidden,),
            pre + "self_attn.q_proj.weight": (a.heads * hd, a.hidden),
            pre + "self_attn.k_proj.weight": (a.kv_heads * hd, a.hidden),
            pre + "self_attn.v_proj.weight": (a.kv_heads * hd, a.hidden),
            pre + "self_attn.o_proj.weight": (a.hidden, a.heads * hd),
            pre + "mlp.gate_proj.weight": (a.intermediate, a.hidden),
            pre + "mlp.up_proj.weight": (a.intermediate, a.hidden),
            pre + "mlp.down_proj.weight": (a.hidden, a.intermediate),
        })
    os.makedirs(a.out, exist_ok=True)
    header, blobs, offset = {}, [], 0
    for name, shape in shapes.items():
        if name.endswith("norm.weight"):
            w = np.ones(shape, np.float32)
        else:
            w = rng.standard_normal(shape, dtype=np.float32) / np.sqrt(shape[-1])
        raw = (to_bf16(w) if a.dtype == "bf16" else w).tobytes()
        header[name] = {"dtype": "BF16" if a.dtype == "bf16" else "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": a.hidden,
              "intermediate_size": a.intermediate, "num_hidden_layers": a.layers,
              "num_attention_heads": a.heads, "num_key_value_heads": a.kv_heads, "vocab_size": a.vocab,
              "max_position_embeddings": a.max_position, "rms_norm_eps": 1e-5, "rope_theta": a.rope_theta,
              "hidden_act": "silu", "tie_word_embeddings": False,
              "torch_dtype": "bfloat16" if a.dtype == "bf16" else "float32", "bos_token_id": 1, "eos_token_id": 2}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main()
