#!/usr/bin/python3
"""Generate tiny random-weight Hugging Face-layout checkpoints + golden outputs.

    /usr/bin/python3 tools/reference/make_checkpoints.py [--only NAME ...] [--check]

Writes tests/data/models/<name>/{config.json, [generation_config.json],
model.safetensors | model-0000X-of-00002.safetensors + model.safetensors.index.json,
golden.json}.  Fully deterministic: running it twice gives byte-identical files.
Goldens are computed by tools/reference/llama_ref.py from the files just written
(i.e. through the hand-written safetensors reader).
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep tools/reference free of __pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llama_ref as ref  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT_ROOT = os.path.join(REPO, "tests", "data", "models")

N_NEW = 32
PROMPT_LEN = 20
VOCAB = 256
BOS, EOS = 1, 2

# ---------------------------------------------------------------------------------------
# checkpoint specs
# ---------------------------------------------------------------------------------------

COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
              bos_token_id=BOS, eos_token_id=EOS, hidden_act="silu")

# Seeds were picked (scanning 1..12) for large greedy top-2 margins, no EOS among the 32 greedy
# tokens and a varied (non-looping) continuation.
SPECS = [
    dict(name="llama-gqa-f32", arch="LlamaForCausalLM", seed=8, dtype="float32", gen_config=True,
         cfg=dict(num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                  rms_norm_eps=1e-5, rope_theta=10000.0, rope_scaling=None, tie_word_embeddings=False,
                  attention_bias=False, mlp_bias=False)),
    # original_max_position_embeddings=32 (not 16): with head_dim 16 the shortest RoPE wavelength is
    # 2*pi ~ 6.28, so high_freq_wavelen = original/high_freq_factor must exceed 6.28 for the
    # high-frequency (unscaled) band to be hit.  With theta 1e4: dim pair 0 (wavelen 6.28 < 8) is kept,
    # pair 1 (wavelen 19.9 in [8, 32]) is smoothly interpolated, pairs 2..7 (> 32) are divided by 8.
    dict(name="llama3-rope-bf16-tied", arch="LlamaForCausalLM", seed=5, dtype="bfloat16", gen_config=True,
         cfg=dict(num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256,
                  rms_norm_eps=1e-5, rope_theta=10000.0,
                  rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
                  tie_word_embeddings=True, attention_bias=False, mlp_bias=False)),
    dict(name="mistral-swa-f32", arch="MistralForCausalLM", seed=7, dtype="float32", gen_config=True,
         cfg=dict(num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=128,
                  rms_norm_eps=1e-5, rope_theta=10000.0, sliding_window=8, tie_word_embeddings=False,
                  head_dim=16)),
    # yarn: max_position_embeddings = factor * original so that transformers v4.5x (which overrides
    # factor := max_pos / original) and v5 (uses "factor") agree.  rope_theta 1000 makes the yarn
    # correction range [0, 2] so one dim pair gets a fractional (0.5) extrapolation/interpolation mix.
    # sliding_window is set but use_sliding_window=false: HF ignores it (as in real Qwen2.5 configs).
    dict(name="qwen2-yarn-f32", arch="Qwen2ForCausalLM", seed=9, dtype="float32", gen_config=False,
         cfg=dict(num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                  rms_norm_eps=1e-6, rope_theta=1000.0,
                  rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16},
                  tie_word_embeddings=False, use_sliding_window=False, sliding_window=8, max_window_layers=1)),
    dict(name="qwen3-qknorm-f32-tied", arch="Qwen3ForCausalLM", seed=10, dtype="float32", gen_config=True,
         cfg=dict(num_attention_heads=4, num_key_value_heads=2, head_dim=32, max_position_embeddings=128,
                  rms_norm_eps=1e-6, rope_theta=1000000.0, rope_scaling=None, tie_word_embeddings=True,
                  attention_bias=False, use_sliding_window=False, sliding_window=None, max_window_layers=2)),
    dict(name="llama-linear-bias-sharded-f32", arch="LlamaForCausalLM", seed=8, dtype="float32",
         gen_config=False, shards=2,
         cfg=dict(num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  rms_norm_eps=1e-5, rope_theta=10000.0, rope_scaling={"rope_type": "linear", "factor": 2.0},
                  tie_word_embeddings=False, attention_bias=True, mlp_bias=False)),
    dict(name="llama-dynamic-f16", arch="LlamaForCausalLM", seed=3, dtype="float16", gen_config=False,
         cfg=dict(num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=16,
                  rms_norm_eps=1e-5, rope_theta=10000.0, rope_scaling={"rope_type": "dynamic", "factor": 2.0},
                  tie_word_embeddings=False, attention_bias=False, mlp_bias=False)),
]

MODEL_TYPE = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral",
              "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3"}

# init scales (chosen so logits are peaky -> robust greedy argmax)
PROJ_GAIN = 1.5
LM_HEAD_STD = 0.6
NORM_JITTER = 0.1
BIAS_STD = 0.3
TIED_EMBED_STD = 0.25
TIED_FINAL_NORM_SCALE = 3.0


def config_json(spec):
    d = dict(COMMON)
    d.update(spec["cfg"])
    d["architectures"] = [spec["arch"]]
    d["model_type"] = MODEL_TYPE[spec["arch"]]
    d["torch_dtype"] = spec["dtype"]
    d["attention_dropout"] = 0.0
    d["initializer_range"] = 0.02
    d["use_cache"] = True
    if spec["arch"] == "LlamaForCausalLM":
        d["pretraining_tp"] = 1
    return d


def make_weights(spec, cfgd):
    """Deterministic float32 master weights (numpy PCG64), then cast to the checkpoint dtype."""
    rng = np.random.default_rng(spec["seed"])
    mc = ref.ModelConfig(cfgd)
    H, I, V = mc.hidden_size, mc.intermediate_size, mc.vocab_size
    nh, nkv, hd = mc.num_heads, mc.num_kv_heads, mc.head_dim

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def lin(out_f, in_f):
        return normal((out_f, in_f), PROJ_GAIN / math.sqrt(in_f))

    def norm(n):
        return (1.0 + normal((n,), NORM_JITTER)).astype(np.float32)

    w = {}
    # Tied checkpoints: a small embedding (so attention/MLP outputs dominate the residual stream
    # instead of the token's own embedding, which otherwise makes greedy decoding repeat the
    # input token) and a large final-norm weight (so the tied logits stay peaky).
    tied = mc.tie_word_embeddings
    w["model.embed_tokens.weight"] = normal((V, H), TIED_EMBED_STD if tied else 1.0)
    for i in range(mc.num_layers):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(H)
        w[p + "self_attn.q_proj.weight"] = lin(nh * hd, H)
        w[p + "self_attn.k_proj.weight"] = lin(nkv * hd, H)
        w[p + "self_attn.v_proj.weight"] = lin(nkv * hd, H)
        w[p + "self_attn.o_proj.weight"] = lin(H, nh * hd)
        if mc.qkv_bias:
            w[p + "self_attn.q_proj.bias"] = normal((nh * hd,), BIAS_STD)
            w[p + "self_attn.k_proj.bias"] = normal((nkv * hd,), BIAS_STD)
            w[p + "self_attn.v_proj.bias"] = normal((nkv * hd,), BIAS_STD)
        if mc.o_bias:
            w[p + "self_attn.o_proj.bias"] = normal((H,), BIAS_STD)
        if mc.qk_norm:
            w[p + "self_attn.q_norm.weight"] = norm(hd)
            w[p + "self_attn.k_norm.weight"] = norm(hd)
        w[p + "post_attention_layernorm.weight"] = norm(H)
        w[p + "mlp.gate_proj.weight"] = lin(I, H)
        w[p + "mlp.up_proj.weight"] = lin(I, H)
        w[p + "mlp.down_proj.weight"] = lin(H, I)
    w["model.norm.weight"] = (norm(H) * (TIED_FINAL_NORM_SCALE if tied else 1.0)).astype(np.float32)
    if not mc.tie_word_embeddings:
        w["lm_head.weight"] = normal((V, H), LM_HEAD_STD)
    prompt = [int(t) for t in rng.integers(3, V, size=PROMPT_LEN)]

    tdt = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[spec["dtype"]]
    tw = {k: torch.from_numpy(v).to(tdt) for k, v in w.items()}  # bf16: round-to-nearest-even
    return tw, prompt


def dump_json(path, obj, indent=None):
    with open(path, "w") as f:
        if indent is None:
            f.write(json.dumps(obj, separators=(",", ":")))
        else:
            f.write(json.dumps(obj, indent=indent, sort_keys=True))
        f.write("\n")


def f32(x):
    """Shortest decimal that round-trips to the same float32 value (keeps golden.json small)."""
    v = np.float32(x)
    s = float(repr(v)) if np.isfinite(v) else float(v)
    assert np.float32(s) == v
    return s


def write_checkpoint(spec):
    d = os.path.join(OUT_ROOT, spec["name"])
    os.makedirs(d, exist_ok=True)
    for fn in os.listdir(d):  # remove stale files from earlier layouts
        if fn.endswith(".safetensors") or fn.endswith(".json"):
            os.remove(os.path.join(d, fn))
    cfgd = config_json(spec)
    weights, prompt = make_weights(spec, cfgd)
    dump_json(os.path.join(d, "config.json"), cfgd, indent=2)
    if spec.get("gen_config"):
        dump_json(os.path.join(d, "generation_config.json"),
                  {"bos_token_id": BOS, "eos_token_id": EOS, "do_sample": False}, indent=2)
    nshards = spec.get("shards", 1)
    if nshards == 1:
        ref.write_safetensors(os.path.join(d, "model.safetensors"), weights)
    else:
        assert nshards == 2
        nl = cfgd["num_hidden_layers"]

        def shard_of(name):
            if name.startswith("model.layers."):
                return 0 if int(name.split(".")[2]) < nl // 2 else 1
            return 0 if name == "model.embed_tokens.weight" else 1

        total = 0
        weight_map = {}
        for s in range(2):
            fn = f"model-{s + 1:05d}-of-00002.safetensors"
            part = {k: v for k, v in weights.items() if shard_of(k) == s}
            total += ref.write_safetensors(os.path.join(d, fn), part)
            for k in part:
                weight_map[k] = fn
        dump_json(os.path.join(d, "model.safetensors.index.json"),
                  {"metadata": {"total_size": total},
                   "weight_map": {k: weight_map[k] for k in sorted(weight_map)}}, indent=2)
    return d, prompt


# ---------------------------------------------------------------------------------------
# independent float64 numpy loop implementation (cross-check of the vectorised torch code)
# ---------------------------------------------------------------------------------------


def numpy_loop_logits(model, ids):
    """Token-by-token float64 forward with explicit per-head loops; rope tables from model.rope
    (float64 cos/sin of the float32 inv_freq).  Only valid for non-dynamic rope."""
    c = model.cfg
    W = {k: v.double().numpy() for k, v in model.W.items()}
    nh, nkv, hd = c.num_heads, c.num_kv_heads, c.head_dim
    grp = nh // nkv
    inv = model.rope.inv_freq.double().numpy()
    att = model.rope.attention_scaling

    def rms(x, w):
        return w * (x / np.sqrt(np.mean(x * x) + c.rms_norm_eps))

    def lin(x, n):
        y = W[n + ".weight"] @ x
        if n + ".bias" in W:
            y = y + W[n + ".bias"]
        return y

    def rope(x, pos):
        half = hd // 2
        ang = pos * inv
        cs, sn = np.cos(ang) * att, np.sin(ang) * att
        x1, x2 = x[:half], x[half:]
        return np.concatenate([x1 * cs - x2 * sn, x2 * cs + x1 * sn])

    K = [[] for _ in range(c.num_layers)]
    Vv = [[] for _ in range(c.num_layers)]
    out = []
    for pos, t in enumerate(ids):
        x = W["model.embed_tokens.weight"][t].copy()
        for li in range(c.num_layers):
            p = f"model.layers.{li}."
            h = rms(x, W[p + "input_layernorm.weight"])
            q = lin(h, p + "self_attn.q_proj").reshape(nh, hd)
            k = lin(h, p + "self_attn.k_proj").reshape(nkv, hd)
            v = lin(h, p + "self_attn.v_proj").reshape(nkv, hd)
            if c.qk_norm:
                q = np.stack([rms(q[i], W[p + "self_attn.q_norm.weight"]) for i in range(nh)])
                k = np.stack([rms(k[i], W[p + "self_attn.k_norm.weight"]) for i in range(nkv)])
            q = np.stack([rope(q[i], pos) for i in range(nh)])
            k = np.stack([rope(k[i], pos) for i in range(nkv)])
            K[li].append(k)
            Vv[li].append(v)
            win = c.layer_windows[li]
            o = np.zeros((nh, hd))
            for hh in range(nh):
                kvh = hh // grp
                js = [j for j in range(pos + 1) if win is None or pos - j < win]
                s = np.array([q[hh] @ K[li][j][kvh] for j in js]) / math.sqrt(hd)
                pr = np.exp(s - s.max())
                pr /= pr.sum()
                o[hh] = sum(pr[n] * Vv[li][j][kvh] for n, j in enumerate(js))
            x = x + lin(o.reshape(-1), p + "self_attn.o_proj")
            h = rms(x, W[p + "post_attention_layernorm.weight"])
            g = lin(h, p + "mlp.gate_proj")
            x = x + lin((g / (1 + np.exp(-g))) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        x = rms(x, W["model.norm.weight"])
        out.append(W["lm_head.weight"] @ x)
    return np.stack(out)


def np_log_softmax(z):
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def rope_complex_check(model, prompt):
    """Default-rope check: HF rotate_half rotation == complex multiplication by e^{i*pos*theta^(-2j/d)}
    on the pairs (x[j], x[j+d/2]), with inv_freq recomputed independently in float64."""
    c = model.cfg
    W = model.W
    hd, nh = c.head_dim, c.num_heads
    x = W["model.embed_tokens.weight"][torch.tensor(prompt)]
    h = model.rmsnorm(x, W["model.layers.0.input_layernorm.weight"])
    q = model.linear(h, "model.layers.0.self_attn.q_proj").view(len(prompt), nh, hd).transpose(0, 1)
    cos, sin = model.rope.cos_sin(list(range(len(prompt))), [len(prompt)] * len(prompt))
    q_hf = (q * cos) + (ref.rotate_half(q) * sin)
    qd = q.double().numpy()
    half = hd // 2
    inv = c.rope_theta ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.arange(len(prompt), dtype=np.float64)[:, None] * inv[None, :]
    z = (qd[..., :half] + 1j * qd[..., half:]) * np.exp(1j * ang)[None]
    q_c = np.concatenate([z.real, z.imag], axis=-1)
    return float(np.abs(q_hf.double().numpy() - q_c).max())


# ---------------------------------------------------------------------------------------


def golden_for(spec, d, prompt, report):
    name = spec["name"]
    model = ref.load_model(d, torch.float32)
    r = ref.greedy_decode(model, prompt, N_NEW)
    P = len(prompt)
    gen = r["greedy_ids"]
    info = {"name": name}

    # full forward vs incremental KV-cache decoding
    lp_full, tok_full = ref.full_forward_token_logprobs(model, prompt, gen)
    info["full_vs_incr_tok_lp"] = max(abs(a - b) for a, b in zip(tok_full, r["greedy_logprobs"]))
    info["full_vs_incr_prompt_lp"] = float((lp_full[:P] - r["prompt_logprobs"]).abs().max())
    full_argmax = [int(t) for t in lp_full[P - 1 : P - 1 + N_NEW].argmax(-1)]
    info["full_argmax_matches"] = sum(int(a == b) for a, b in zip(full_argmax, gen))
    if model.cfg.rope_type == "dynamic":
        _, tok_inc = ref.full_forward_token_logprobs(model, prompt, gen, incremental_rope=True)
        info["full_incr_rope_vs_incr_tok_lp"] = max(abs(a - b) for a, b in zip(tok_inc, r["greedy_logprobs"]))

    # float64 compute of the same weights: estimate of float32 rounding error
    m64 = ref.LlamaRef(model.cfg.raw, ref.load_checkpoint(d)[1], torch.float64)
    lp64 = torch.log_softmax(m64.forward(prompt), -1)
    info["f32_vs_f64_prompt_lp"] = float((lp64 - r["prompt_logprobs"].double()).abs().max())

    # independent numpy loop implementation (non-dynamic rope only: it uses one inv_freq)
    if model.cfg.rope_type != "dynamic":
        lpn = np_log_softmax(numpy_loop_logits(model, prompt + gen[:-1]))
        ref_lp = lp_full[: P + N_NEW - 1].double().numpy()
        info["numpy_loop_vs_torch_lp"] = float(np.abs(lpn - ref_lp).max())

    if model.cfg.rope_type == "default" and model.cfg.arch == "LlamaForCausalLM":
        info["rope_complex_check"] = rope_complex_check(model, prompt)

    golden = {
        "name": name,
        "reference": "tools/reference/llama_ref.py",
        "compute_dtype": "float32",
        "weights_dtype": spec["dtype"],
        "max_new_tokens": N_NEW,
        "ignore_eos": True,
        "prompt_ids": prompt,
        "prompt_logprobs": [[f32(v) for v in row] for row in r["prompt_logprobs"].tolist()],
        "greedy_ids": gen,
        "greedy_logprobs": [f32(v) for v in r["greedy_logprobs"]],
        "min_top2_margin": f32(min(r["margins"])),
    }
    info["min_top2_margin"] = min(r["margins"])
    info["eos_in_greedy"] = EOS in gen

    if model.cfg.rope_type == "dynamic":
        golden["full_forward_greedy_logprobs"] = [f32(v) for v in tok_full]
        golden["notes"] = (
            "dynamic NTK: greedy_* follow HF generate with DynamicCache: prompt pass uses seq_len=P, "
            "the step feeding position p uses seq_len=p+1, cached keys keep their rotation. "
            "full_forward_greedy_logprobs = one cache-less forward over prompt+greedy_ids "
            "(seq_len=P+N-1 for every position), which HF defines differently.")

    if spec["dtype"] == "bfloat16":
        mbf = ref.load_model(d, torch.bfloat16)
        rb = ref.greedy_decode(mbf, prompt, N_NEW)
        diff = float((rb["prompt_logprobs"] - r["prompt_logprobs"]).abs().max())
        golden["bf16_compute_max_abs_diff"] = f32(diff)
        info["bf16_compute_max_abs_diff"] = diff
        info["bf16_greedy_agree_prefix"] = next((i for i, (a, b) in enumerate(zip(gen, rb["greedy_ids"])) if a != b), N_NEW)
        info["bf16_greedy_agree_count"] = sum(int(a == b) for a, b in zip(gen, rb["greedy_ids"]))

    dump_json(os.path.join(d, "golden.json"), golden)
    report.append(info)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    os.makedirs(OUT_ROOT, exist_ok=True)
    report = []
    for spec in SPECS:
        if args.only and spec["name"] not in args.only:
            continue
        d, prompt = write_checkpoint(spec)
        golden_for(spec, d, prompt, report)
    for info in report:
        print(json.dumps(info))
    bad = [i["name"] for i in report if i["min_top2_margin"] < 1e-3]
    if bad:
        print("WARNING: min_top2_margin < 1e-3 for", bad)


if __name__ == "__main__":
    main()
