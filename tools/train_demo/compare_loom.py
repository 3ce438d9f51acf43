#!/usr/bin/python3
"""Compare Loom's prompt logprobs with the PyTorch reference written by train.py.

    /usr/bin/python3 tools/train_demo/compare_loom.py --loom build/loom --model models/builtin
"""
import argparse
import json
import os
import subprocess

ap = argparse.ArgumentParser()
ap.add_argument("--loom", default="build/loom")
ap.add_argument("--model", default="models/builtin")
ap.add_argument("--ref", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "heldout_reference.json"))
a = ap.parse_args()
ref = json.load(open(a.ref))["reference"]
vocab = json.load(open(os.path.join(a.model, "config.json")))["vocab_size"]
ids = ref["ids"]

tok = json.loads(subprocess.run([a.loom, "tokenize", "--model", a.model, "--text", ref["text"]],
                                check=True, capture_output=True, text=True).stdout)["ids"]
print("loom tokenizer ids == python ids:", tok == ids)
out = json.loads(subprocess.run([a.loom, "generate", "--model", a.model, "--prompt-ids", ",".join(map(str, ids)),
                                 "--max-tokens", "1", "--temperature", "0", "--prompt-logprobs", str(vocab), "--json"],
                                check=True, capture_output=True, text=True).stdout)
rows = out["prompt_logprobs"]
rows = [r for r in rows if r]  # first prompt token has no logprob
assert len(rows) == len(ids) - 1, (len(rows), len(ids))
diffs = []
for i, row in enumerate(rows):
    lp = {e["id"]: e["logprob"] for e in row}
    diffs.append(abs(lp[ids[i + 1]] - ref["logprobs"][i + 1]))
print(f"tokens {len(diffs)}  max |loom - torch| logprob = {max(diffs):.2e}  mean = {sum(diffs) / len(diffs):.2e}")
print("torch sum logprob %.4f" % sum(ref["logprobs"][1:]))
