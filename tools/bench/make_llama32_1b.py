#!/usr/bin/env python3
"""Writes a random-weight checkpoint of Llama-3.2-1B's shape for `loom bench latency`:

hidden 2048, 16 layers, 32 heads (head_dim 64), 8 KV heads, FFN 8192, untied lm_head, bf16
safetensors + config.json (rope_theta 500000; no rope_scaling, which only matters past 8k
tokens). The vocabulary is 32000 rather than 128256 (no tokenizer: `loom bench` runs on token
ids), so the LM head reads 131 MB instead of 525 MB per step. About 2.2 GB; write it outside the
repository:

    /usr/bin/python3 tools/bench/make_llama32_1b.py /tmp/llama1b
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_random_checkpoint  # noqa: E402


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    make_random_checkpoint.main([
        sys.argv[1], "--hidden", "2048", "--intermediate", "8192", "--layers", "16",
        "--heads", "32", "--kv-heads", "8", "--vocab", "32000", "--dtype", "bf16",
        "--rope-theta", "500000", "--max-position", "131072",
    ])


if __name__ == "__main__":
    main()
