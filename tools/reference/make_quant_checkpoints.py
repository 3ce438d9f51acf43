#!/usr/bin/python3
"""Tiny GPTQ and AWQ checkpoints in Hugging Face layout + golden outputs.

    /usr/bin/python3 tools/reference/make_quant_checkpoints.py [--only NAME ...]

Writes tests/data/quant_models/<name>/{config.json, model.safetensors, golden.json}.
Deterministic: running it twice gives byte-identical files.

Each checkpoint starts from random float weights (make_checkpoints.make_weights, stored f16 as
real GPTQ / AWQ checkpoints are), quantizes every Linear with a round-to-nearest quantizer
(GPTQ's grid without its Hessian updates; AutoAWQ's grid without its activation scaling) and
packs the integers into the exact GPTQ / AWQ tensor layouts (see quant_ref.py for the
definitions). The goldens are computed from the files just written: read back, dequantized by
quant_ref.py (an independent unpacker) and run through llama_ref.py in float32.

golden.json adds to make_checkpoints.py's fields:
  - weight_dtypes: the block type Loom must repack each Linear into: the smallest of q4_0, q5_0,
    q8_0 that holds every q - zero ([-8, 7], [-16, 15], [-128, 127]); "f16" for modules left
    unquantized
  - weight_samples: {module: [[out, in, value], ...]}: dequantized weights at random positions
    (exact float32 values; the repacked weight must reproduce them bit for bit)
  - act_order: whether the module's groups are scattered (desc_act with a shuffled g_idx)
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llama_ref as ref  # noqa: E402
import make_checkpoints as mc  # noqa: E402
import quant_ref  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT_ROOT = os.path.join(REPO, "tests", "data", "quant_models")

# AutoAWQ packs output columns 8 w + AWQ_ORDER[s] into nibble s of word w.
AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]
LINEARS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")

SMALL = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2)
BIG = dict(hidden_size=128, intermediate_size=256, num_attention_heads=4, num_key_value_heads=2)

LLAMA = dict(max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0, rope_scaling=None,
             tie_word_embeddings=False, attention_bias=False, mlp_bias=False)
QWEN2 = dict(max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=10000.0, rope_scaling=None,
             tie_word_embeddings=False, use_sliding_window=False, sliding_window=None, max_window_layers=2)

# Seeds picked (scanning 1..12) for the largest greedy top-2 margin without EOS in the 32 tokens.
SPECS = [
    # AutoGPTQ v1 symmetric 4-bit: stored zeros 7 (= 8 - 1) -> Q4_0. One group spans the whole
    # hidden dim (128), two the intermediate one.
    dict(name="gptq-4bit-sym-g128", arch="LlamaForCausalLM", seed=12, dims=BIG, cfg=LLAMA,
         q=dict(quant_method="gptq", bits=4, group_size=128, desc_act=False, sym=True,
                checkpoint_format="gptq", true_sequential=True, damp_percent=0.01, static_groups=False)),
    # GPTQModel v2 asymmetric 4-bit, act-order: g_idx shuffled, groups of 32 scattered -> Q5_0
    # with an input permutation.
    dict(name="gptq-4bit-asym-g32-actorder", arch="LlamaForCausalLM", seed=8, dims=SMALL, cfg=LLAMA,
         q=dict(quant_method="gptq", bits=4, group_size=32, desc_act=True, sym=False,
                checkpoint_format="gptq_v2", true_sequential=True, damp_percent=0.01, static_groups=False)),
    # 8-bit symmetric (zero 128, stored 127): q - zero spans [-128, 127] -> Q8_0; lm_head
    # quantized too (GPTQModel's "lm_head": true).
    dict(name="gptq-8bit-sym-g64-lmhead", arch="LlamaForCausalLM", seed=6, dims=SMALL, cfg=LLAMA,
         quant_lm_head=True,
         q=dict(quant_method="gptq", bits=8, group_size=64, desc_act=False, sym=True,
                checkpoint_format="gptq", lm_head=True, true_sequential=True, damp_percent=0.01)),
    # One group per row (group_size -1), v1 asymmetric, Qwen2 (float q/k/v biases beside
    # quantized weights) -> Q5_0.
    dict(name="gptq-4bit-asym-gall-qwen2", arch="Qwen2ForCausalLM", seed=9, dims=SMALL, cfg=QWEN2,
         q=dict(quant_method="gptq", bits=4, group_size=-1, desc_act=False, sym=False,
                checkpoint_format="gptq", true_sequential=True, damp_percent=0.01)),
    # AWQ GEMM 4-bit with zero points, o_proj left in f16 (modules_to_not_convert) -> Q5_0.
    dict(name="awq-4bit-g64", arch="LlamaForCausalLM", seed=12, dims=SMALL, cfg=LLAMA,
         q=dict(quant_method="awq", bits=4, group_size=64, zero_point=True, version="gemm",
                modules_to_not_convert=["o_proj"])),
    # Error case: k_proj left in f16 while q_proj and v_proj are packed: the fused qkv_proj mixes
    # precisions (vLLM refuses this). No golden.
    dict(name="awq-partial-fused-qkv", arch="LlamaForCausalLM", seed=6, dims=SMALL, cfg=LLAMA, no_golden=True,
         layers=1,
         q=dict(quant_method="awq", bits=4, group_size=64, zero_point=True, version="gemm",
                modules_to_not_convert=["k_proj"])),
]


def config_json(spec):
    cfg = dict(mc.COMMON)
    cfg.update(spec["dims"])
    cfg.update(spec["cfg"])
    if "layers" in spec:
        cfg["num_hidden_layers"] = spec["layers"]
    d = mc.config_json(dict(arch=spec["arch"], cfg=cfg, dtype="float16"))
    d["quantization_config"] = spec["q"]
    return d


# ---------------------------------------------------------------------------------------
# round-to-nearest quantizers: float64 [out, n] -> (q int [out, n], scale f16 [out], zero int [out])
# ---------------------------------------------------------------------------------------


def gptq_grid(x, bits, sym):
    """AutoGPTQ Quantizer.find_params (per output row) + quantize."""
    maxq = 2 ** bits - 1
    xmin = np.minimum(x.min(1), 0)
    xmax = np.maximum(x.max(1), 0)
    if sym:
        xmax = np.maximum(np.abs(xmin), xmax)
        xmin = np.where(xmin < 0, -xmax, xmin)
    both0 = (xmin == 0) & (xmax == 0)
    xmin, xmax = np.where(both0, -1, xmin), np.where(both0, 1, xmax)
    scale = ((xmax - xmin) / maxq).astype(np.float16)  # stored f16; quantize with it
    s = scale.astype(np.float64)
    zero = np.full(x.shape[0], (maxq + 1) // 2) if sym else np.round(-xmin / s).astype(np.int64)
    q = np.clip(np.round(x / s[:, None]) + zero[:, None], 0, maxq).astype(np.int64)
    return q, scale, zero


def awq_grid(x):
    """AutoAWQ pseudo_quantize_tensor with zero_point=True, w_bit=4."""
    max_int = 15
    mx, mn = x.max(1), x.min(1)
    scale = (np.maximum(mx - mn, 1e-5) / max_int).astype(np.float16)
    s = scale.astype(np.float64)
    zero = np.clip(-np.round(mn / s), 0, max_int).astype(np.int64)
    q = np.clip(np.round(x / s[:, None]) + zero[:, None], 0, max_int).astype(np.int64)
    return q, scale, zero


# ---------------------------------------------------------------------------------------
# packers (the formats' definitions; quant_ref.py unpacks them independently)
# ---------------------------------------------------------------------------------------


def to_i32(words):
    return torch.from_numpy(np.asarray(words, dtype=np.uint32).view(np.int32).copy())


def pack_gptq_rows(q, bits):
    """int [in, out] -> int32 [in // pf, out]: input row pf * r + s in bits [bits * s, ...) of row r."""
    pf = 32 // bits
    words = np.zeros((q.shape[0] // pf, q.shape[1]), dtype=np.uint64)
    for s in range(pf):
        words |= q[s::pf, :].astype(np.uint64) << np.uint64(bits * s)
    return to_i32(words)


def pack_gptq_cols(z, bits):
    """int [g, out] -> int32 [g, out // pf]: column pf * c + s in bits [bits * s, ...) of column c."""
    pf = 32 // bits
    words = np.zeros((z.shape[0], z.shape[1] // pf), dtype=np.uint64)
    for s in range(pf):
        words |= z[:, s::pf].astype(np.uint64) << np.uint64(bits * s)
    return to_i32(words)


def pack_awq_cols(q):
    """int [r, out] -> int32 [r, out // 8]: column 8 c + AWQ_ORDER[s] in nibble s of column c."""
    words = np.zeros((q.shape[0], q.shape[1] // 8), dtype=np.uint64)
    for s in range(8):
        words |= q[:, AWQ_ORDER[s]::8].astype(np.uint64) << np.uint64(4 * s)
    return to_i32(words)


def quantize_gptq(w, qc, rng):
    """w float64 [out, in] -> {qweight, qzeros, scales, g_idx} in the checkpoint's layout."""
    bits, gs = qc["bits"], qc["group_size"]
    n_out, n_in = w.shape
    gsz = n_in if gs == -1 else gs
    groups = n_in // gsz
    if qc["desc_act"]:
        # act-order: columns are quantized in a permuted order (GPTQ sorts by the Hessian
        # diagonal); the i-th column in that order belongs to group i // group_size.
        perm = rng.permutation(n_in)
        g_idx = np.empty(n_in, dtype=np.int64)
        g_idx[perm] = np.arange(n_in) // gsz
    else:
        g_idx = np.arange(n_in) // gsz
    q = np.zeros((n_in, n_out), dtype=np.int64)
    scales = np.zeros((groups, n_out), dtype=np.float16)
    zeros = np.zeros((groups, n_out), dtype=np.int64)
    for g in range(groups):
        cols = np.nonzero(g_idx == g)[0]
        qg, s, z = gptq_grid(w[:, cols], bits, qc["sym"])
        q[cols, :] = qg.T
        scales[g], zeros[g] = s, z
    stored = zeros
    if qc["checkpoint_format"] == "gptq":  # AutoGPTQ v1 stores zero - 1
        assert zeros.min() >= 1, "v1 cannot store a zero point of 0"
        stored = zeros - 1
    return {"qweight": pack_gptq_rows(q, bits), "qzeros": pack_gptq_cols(stored, bits),
            "scales": torch.from_numpy(scales), "g_idx": torch.from_numpy(g_idx.astype(np.int32))}


def quantize_awq(w, qc):
    gs = qc["group_size"]
    n_out, n_in = w.shape
    groups = n_in // gs
    q = np.zeros((n_in, n_out), dtype=np.int64)
    scales = np.zeros((groups, n_out), dtype=np.float16)
    zeros = np.zeros((groups, n_out), dtype=np.int64)
    for g in range(groups):
        qg, s, z = awq_grid(w[:, g * gs:(g + 1) * gs])
        q[g * gs:(g + 1) * gs, :] = qg.T
        scales[g], zeros[g] = s, z
    return {"qweight": pack_awq_cols(q), "qzeros": pack_awq_cols(zeros), "scales": torch.from_numpy(scales)}


def quantized_modules(spec, cfgd):
    qc = spec["q"]
    skip = qc.get("modules_to_not_convert") or []
    mods = []
    for i in range(cfgd["num_hidden_layers"]):
        for l in LINEARS:
            name = f"model.layers.{i}.{l}"
            if not any(s in name for s in skip):
                mods.append(name)
    if spec.get("quant_lm_head"):
        mods.append("lm_head")
    return mods


def write_checkpoint(spec):
    d = os.path.join(OUT_ROOT, spec["name"])
    os.makedirs(d, exist_ok=True)
    for fn in os.listdir(d):
        if fn.endswith(".safetensors") or fn.endswith(".json"):
            os.remove(os.path.join(d, fn))
    cfgd = config_json(spec)
    weights, prompt = mc.make_weights(dict(seed=spec["seed"], dtype="float16"), cfgd)
    rng = np.random.default_rng(1000 + spec["seed"])  # act-order permutations
    qc = spec["q"]
    mods = quantized_modules(spec, cfgd)
    floats = {}
    for m in mods:
        w = weights.pop(m + ".weight").double().numpy()
        floats[m] = w
        packed = quantize_gptq(w, qc, rng) if qc["quant_method"] == "gptq" else quantize_awq(w, qc)
        for k, v in packed.items():
            weights[f"{m}.{k}"] = v
    mc.dump_json(os.path.join(d, "config.json"), cfgd, indent=2)
    ref.write_safetensors(os.path.join(d, "model.safetensors"), weights)
    return d, prompt, floats


def golden_for(spec, d, prompt, floats, report):
    config, stored = ref.load_checkpoint(d)
    ints = {}
    weights = quant_ref.dequantize_checkpoint(config, stored, ints)
    model = ref.LlamaRef(config, weights, torch.float32)
    r = ref.greedy_decode(model, prompt, mc.N_NEW)
    # The same weights through llama_ref's own loader (which dequantizes with quant_ref too).
    assert torch.equal(ref.load_model(d).W["lm_head.weight"], model.W["lm_head.weight"])

    # float64 compute of the same weights: the float32 rounding noise Loom is measured against
    m64 = ref.LlamaRef(config, weights, torch.float64)
    lp64 = torch.log_softmax(m64.forward(prompt), -1)

    rng = np.random.default_rng(spec["seed"])
    dtypes, samples, act_order = {}, {}, {}
    for m in sorted(set(k.rsplit(".", 1)[0] for k in weights if k.endswith(".weight"))):
        if not (m in ints or any(m.endswith(l) for l in LINEARS) or m == "lm_head"):
            continue
        if m in ints:
            v = ints[m]
            lo, hi = int(v.min()), int(v.max())
            dtypes[m] = "q4_0" if lo >= -8 and hi <= 7 else "q5_0" if lo >= -16 and hi <= 15 else "q8_0"
            gi = stored.get(m + ".g_idx")
            act_order[m] = bool(config["quantization_config"].get("desc_act") and gi is not None
                                and not bool((gi[1:] >= gi[:-1]).all()))
        else:
            dtypes[m] = "f16"
        w = weights[m + ".weight"]
        pos = [(int(rng.integers(w.shape[0])), int(rng.integers(w.shape[1]))) for _ in range(16)]
        samples[m] = [[o, i, mc.f32(w[o, i])] for o, i in pos]
    assert set(floats) == set(ints), (sorted(floats), sorted(ints))
    # Round to nearest: every dequantized weight is within one grid step (its group's scale) of
    # the float weight it came from; a packing or unpacking slip would not be.
    worst = 0.0
    for m, w in floats.items():
        step = stored[m + ".scales"].double().abs().max().item()
        worst = max(worst, float(np.abs(weights[m + ".weight"].double().numpy() - w).max()) / step)
    assert worst <= 1.0, (spec["name"], worst)

    golden = {
        "name": spec["name"],
        "reference": "tools/reference/make_quant_checkpoints.py (quant_ref.py + llama_ref.py)",
        "compute_dtype": "float32",
        "max_new_tokens": mc.N_NEW,
        "ignore_eos": True,
        "quant_method": config["quantization_config"]["quant_method"],
        "prompt_ids": prompt,
        "prompt_logprobs": [[mc.f32(v) for v in row] for row in r["prompt_logprobs"].tolist()],
        "greedy_ids": r["greedy_ids"],
        "greedy_logprobs": [mc.f32(v) for v in r["greedy_logprobs"]],
        "min_top2_margin": mc.f32(min(r["margins"])),
        "weight_dtypes": dtypes,
        "weight_samples": samples,
        "act_order": act_order,
    }
    mc.dump_json(os.path.join(d, "golden.json"), golden)
    report.append({"name": spec["name"], "min_top2_margin": min(r["margins"]),
                   "eos_in_greedy": mc.EOS in r["greedy_ids"],
                   "max_dequant_error_steps": round(worst, 3),
                   "f32_vs_f64_prompt_lp": float((lp64 - r["prompt_logprobs"].double()).abs().max()),
                   "dtypes": sorted(set(dtypes.values())), "act_order": any(act_order.values()),
                   "greedy": r["greedy_ids"]})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    os.makedirs(OUT_ROOT, exist_ok=True)
    report = []
    for spec in SPECS:
        if args.only and spec["name"] not in args.only:
            continue
        d, prompt, floats = write_checkpoint(spec)
        if not spec.get("no_golden"):
            golden_for(spec, d, prompt, floats, report)
    for info in report:
        print(json.dumps(info))
    bad = [i["name"] for i in report if i["min_top2_margin"] < 1e-3]
    if bad:
        print("WARNING: min_top2_margin < 1e-3 for", bad)


if __name__ == "__main__":
    main()
