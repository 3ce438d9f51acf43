#!/usr/bin/python3
"""Independent PyTorch reference for Hugging Face Llama-family causal LMs.

Written from the Hugging Face `transformers` modeling semantics (no `transformers`
import; torch 1.13 + numpy only).  Supported architectures:

  LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM

Semantics followed (transformers sources read for this file):
  * src/transformers/models/llama/modeling_llama.py, mistral/modeling_mistral.py,
    qwen2/modeling_qwen2.py, qwen3/modeling_qwen3.py (v4.5x / v5 "eager" path):
      - RMSNorm: x.float(); x * rsqrt(mean(x^2) + eps); weight * x.to(input_dtype)
      - MLP: down(silu(gate(x)) * up(x))
      - attention: softmax(q @ k^T * head_dim**-0.5 + mask, dtype=float32).to(q.dtype) @ v
        with GQA (kv head of query head h is h // (n_heads // n_kv_heads))
      - Llama: bias on q,k,v,o iff attention_bias (and on gate/up/down iff mlp_bias)
      - Mistral: no biases, optional sliding_window on every layer
      - Qwen2: bias on q,k,v always, none on o
      - Qwen3: q_norm / k_norm (RMSNorm over head_dim) on q and k *before* RoPE;
        biases on q,k,v,o iff attention_bias
      - head_dim = config.head_dim if present (and not null) else hidden_size // n_heads
      - tie_word_embeddings: lm_head.weight := model.embed_tokens.weight
  * src/transformers/masking_utils.py: causal `kv_idx <= q_idx`, sliding overlay
    `kv_idx > q_idx - sliding_window`  (i.e. q - kv < sliding_window).
    Qwen2/Qwen3 only use the window if `use_sliding_window` is true and only on
    layers with index >= max_window_layers (or where config.layer_types says
    "sliding_attention").
  * src/transformers/modeling_rope_utils.py (rope_type default, linear, dynamic, yarn,
    llama3).  Notes on version differences:
      - dynamic: inv_freq is recomputed from seq_len = max(position_ids) + 1 of the
        *current forward call* when seq_len > max_position_embeddings:
            base' = theta * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
        Cached keys keep the rotation they were computed with (DynamicCache stores
        rotated keys).  HF's rotary module is stateful (max_seq_len_cached); for a
        fresh model processing monotonically growing sequences -- the generate()
        flow used for the goldens -- that is equivalent to this stateless rule.
      - yarn: follows the v4.5x+/v5 code: correction range computed with
        rope_scaling["original_max_position_embeddings"] (falls back to
        max_position_embeddings), beta_fast=32, beta_slow=1 defaults,
        attention_factor default get_mscale(factor) = 0.1*ln(factor)+1 (or the
        mscale/mscale_all_dim ratio), multiplied onto cos and sin, `truncate`
        (default True) floors/ceils the correction range.  v4.5x overrides
        factor := max_position_embeddings / original_max_position_embeddings when
        original_max_position_embeddings is given, v5 uses rope_scaling["factor"];
        we use "factor" and our checkpoints keep max_pos == factor * original so
        both versions agree.  (transformers <= 4.48 used max_position_embeddings
        for the correction range and had no truncate option.)
      - llama3: exactly HF's _compute_llama3_parameters (float32 torch ops).
      - rope dim = head_dim (partial_rotary_factor unsupported -> must be 1.0).
  Rotation is NeoX style via rotate_half: x*cos + cat(-x2, x1)*sin, with
  emb = cat(freqs, freqs), freqs = position * inv_freq computed in float32.

Computation: by default float32 activations with weights upcast to float32 (bf16/f16
checkpoints are upcast exactly).  `compute_dtype=torch.bfloat16` reproduces HF's
pure-bf16 eager forward (model.to(bfloat16)): RMSNorm and softmax internally in
float32, RoPE cos/sin computed in float32 and cast to bf16, everything else bf16.
`compute_dtype=torch.float64` is provided for error estimates only (RoPE then also
in float64).
"""

import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(2)

SUPPORTED_ARCHS = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM")

# --------------------------------------------------------------------------------------
# safetensors (hand-written; format: u64 LE header length, JSON header, raw LE bytes)
# --------------------------------------------------------------------------------------

_ST_ELEM = {"F32": 4, "F16": 2, "BF16": 2, "I32": 4}


def tensor_to_st(t: torch.Tensor):
    """torch tensor -> (dtype string, shape list, raw little-endian bytes)."""
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.float32:
        return "F32", list(t.shape), t.numpy().astype("<f4").tobytes()
    if t.dtype == torch.float16:
        return "F16", list(t.shape), t.numpy().astype("<f2").tobytes()
    if t.dtype == torch.bfloat16:
        return "BF16", list(t.shape), t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.int32:  # GPTQ / AWQ packed tensors
        return "I32", list(t.shape), t.numpy().astype("<i4").tobytes()
    raise ValueError(f"unsupported dtype {t.dtype}")


def write_safetensors(path, tensors):
    """tensors: dict name -> torch.Tensor.  Tensors are laid out in sorted name order."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    off = 0
    for name in sorted(tensors):
        dt, shape, raw = tensor_to_st(tensors[name])
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pad = (8 - len(hjson) % 8) % 8
    hjson += b" " * pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    return off  # total tensor bytes


def read_safetensors(path):
    """Returns dict name -> torch.Tensor in the stored dtype (BF16 -> torch.bfloat16)."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + hlen].decode("utf-8"))
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[base + b : base + e]
        shape = info["shape"]
        dt = info["dtype"]
        n = int(np.prod(shape)) if shape else 1
        assert len(raw) == n * _ST_ELEM[dt], (name, len(raw), n, dt)
        if dt == "F32":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape))
        elif dt == "F16":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<f2").astype(np.float16).reshape(shape))
        elif dt == "I32":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<i4").astype(np.int32).reshape(shape))
        elif dt == "BF16":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<i2").astype(np.int16).reshape(shape)).view(torch.bfloat16)
        else:
            raise ValueError(dt)
        out[name] = t
    return out


def load_checkpoint(model_dir):
    """Reads config.json and model.safetensors or a sharded index. Returns (config dict, weights dict)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    idx = os.path.join(model_dir, "model.safetensors.index.json")
    weights = {}
    if os.path.exists(idx):
        with open(idx) as f:
            wm = json.load(f)["weight_map"]
        for shard in sorted(set(wm.values())):
            part = read_safetensors(os.path.join(model_dir, shard))
            for k, v in part.items():
                assert wm.get(k) == shard, (k, shard)
                weights[k] = v
        assert set(weights) == set(wm), "index/weights mismatch"
    else:
        weights = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    return config, weights


# --------------------------------------------------------------------------------------
# config
# --------------------------------------------------------------------------------------


class ModelConfig:
    def __init__(self, d):
        self.raw = d
        self.arch = d["architectures"][0]
        if self.arch not in SUPPORTED_ARCHS:
            raise ValueError(f"unsupported architecture {self.arch}")
        self.vocab_size = d["vocab_size"]
        self.hidden_size = d["hidden_size"]
        self.intermediate_size = d["intermediate_size"]
        self.num_layers = d["num_hidden_layers"]
        self.num_heads = d["num_attention_heads"]
        self.num_kv_heads = d.get("num_key_value_heads") or self.num_heads
        assert self.num_heads % self.num_kv_heads == 0
        self.head_dim = d.get("head_dim") or self.hidden_size // self.num_heads
        self.rms_norm_eps = d.get("rms_norm_eps", 1e-6)
        self.max_position_embeddings = d.get("max_position_embeddings", 2048)
        self.tie_word_embeddings = bool(d.get("tie_word_embeddings", False))
        act = d.get("hidden_act", "silu")
        if act != "silu":
            raise ValueError(f"hidden_act {act} unsupported")
        if d.get("partial_rotary_factor", 1.0) != 1.0:
            raise ValueError("partial_rotary_factor != 1 unsupported")

        # rope: accept both legacy (rope_theta + rope_scaling) and v5 (rope_parameters)
        rp = d.get("rope_parameters") or {}
        rs = d.get("rope_scaling") or {}
        self.rope_theta = float(d.get("rope_theta", rp.get("rope_theta", 10000.0)))
        scaling = dict(rp)
        scaling.update(rs)
        self.rope_scaling = scaling
        self.rope_type = scaling.get("rope_type", scaling.get("type", "default"))

        a = self.arch
        ab = bool(d.get("attention_bias", False))
        if a == "LlamaForCausalLM":
            self.qkv_bias, self.o_bias = ab, ab
            self.mlp_bias = bool(d.get("mlp_bias", False))
        elif a == "MistralForCausalLM":
            self.qkv_bias, self.o_bias, self.mlp_bias = False, False, False
        elif a == "Qwen2ForCausalLM":
            self.qkv_bias, self.o_bias, self.mlp_bias = True, False, False
        else:  # Qwen3
            self.qkv_bias, self.o_bias, self.mlp_bias = ab, ab, False
        self.qk_norm = a == "Qwen3ForCausalLM"

        # per-layer sliding window
        sw = d.get("sliding_window")
        self.layer_windows = []
        layer_types = d.get("layer_types")
        for i in range(self.num_layers):
            w = None
            if a == "MistralForCausalLM":
                w = sw
            elif a in ("Qwen2ForCausalLM", "Qwen3ForCausalLM"):
                if layer_types is not None:
                    if layer_types[i] == "sliding_attention" and d.get("use_sliding_window", False):
                        w = sw
                elif d.get("use_sliding_window", False) and sw is not None:
                    if i >= d.get("max_window_layers", self.num_layers):
                        w = sw
            self.layer_windows.append(w)


# --------------------------------------------------------------------------------------
# RoPE (modeling_rope_utils.py)
# --------------------------------------------------------------------------------------


def _default_inv_freq(base, dim, dtype=torch.float32):
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype) / dim))


class Rope:
    def __init__(self, cfg: ModelConfig, dtype=torch.float32):
        self.cfg = cfg
        self.dtype = dtype  # float32 as HF; float64 only for error estimates
        self.dim = cfg.head_dim
        self.type = cfg.rope_type
        s = cfg.rope_scaling
        base = cfg.rope_theta
        dim = self.dim
        self.attention_scaling = 1.0
        if self.type == "default":
            self.inv_freq = _default_inv_freq(base, dim, dtype)
        elif self.type == "linear":
            self.inv_freq = _default_inv_freq(base, dim, dtype) / s["factor"]
        elif self.type == "dynamic":
            # at init (seq_len <= max_position_embeddings) the original inv_freq is used
            self.inv_freq = _default_inv_freq(base, dim, dtype)
        elif self.type == "llama3":
            self.inv_freq = self._llama3(base, dim, s)
        elif self.type == "yarn":
            self.inv_freq, self.attention_scaling = self._yarn(base, dim, s)
        else:
            raise ValueError(f"rope_type {self.type} unsupported")

    def _llama3(self, base, dim, s):
        inv_freq = _default_inv_freq(base, dim, self.dtype)
        factor = s["factor"]
        low_freq_factor = s["low_freq_factor"]
        high_freq_factor = s["high_freq_factor"]
        old_context_len = s["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        # wavelen < high_freq_wavelen: keep; wavelen > low_freq_wavelen: divide by factor
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        return torch.where(is_medium, smoothed, inv_freq_llama)

    def _yarn(self, base, dim, s):
        factor = s["factor"]
        orig = s.get("original_max_position_embeddings") or self.cfg.max_position_embeddings
        attention_factor = s.get("attention_factor")
        mscale = s.get("mscale")
        mscale_all_dim = s.get("mscale_all_dim")

        def get_mscale(scale, m=1):
            if scale <= 1:
                return 1.0
            return 0.1 * m * math.log(scale) + 1.0

        if attention_factor is None:
            if mscale and mscale_all_dim:
                attention_factor = float(get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim))
            else:
                attention_factor = get_mscale(factor)
        beta_fast = s.get("beta_fast") or 32
        beta_slow = s.get("beta_slow") or 1
        truncate = s.get("truncate", True)

        def corr_dim(num_rot):
            return (dim * math.log(orig / (num_rot * 2 * math.pi))) / (2 * math.log(base))

        low, high = corr_dim(beta_fast), corr_dim(beta_slow)
        if truncate:
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1).to(self.dtype)
        pos_freqs = base ** (torch.arange(0, dim, 2).to(self.dtype) / dim)
        inv_extra = 1.0 / pos_freqs
        inv_inter = 1.0 / (factor * pos_freqs)
        extra_factor = 1 - ramp
        inv_freq = inv_inter * (1 - extra_factor) + inv_extra * extra_factor
        self.yarn_range = (low, high)
        return inv_freq, attention_factor

    def inv_freq_for(self, seq_len):
        """seq_len = max(position_ids) + 1 of the current forward call (only used by dynamic)."""
        if self.type == "dynamic":
            max_pos = self.cfg.max_position_embeddings
            if seq_len > max_pos:
                factor = self.cfg.rope_scaling["factor"]
                dim = self.dim
                if self.dtype == torch.float32:
                    # HF passes seq_len = torch.max(position_ids) + 1 (an int64 tensor), so the
                    # new base is evaluated in float32 tensor arithmetic; mirror that.
                    sl = torch.tensor(seq_len, dtype=torch.int64)
                    base = self.cfg.rope_theta * ((factor * sl / max_pos) - (factor - 1)) ** (dim / (dim - 2))
                    assert base.dtype == torch.float32
                else:
                    base = self.cfg.rope_theta * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
                return _default_inv_freq(base, dim, self.dtype)
        return self.inv_freq

    def cos_sin(self, positions, seq_lens):
        """positions: list[int]; seq_lens: list[int] (per token, the dynamic-NTK seq_len in effect).
        Returns cos, sin of shape [T, head_dim] in self.dtype."""
        # group tokens by seq_len (usually all equal)
        out_c = torch.empty(len(positions), self.dim, dtype=self.dtype)
        out_s = torch.empty(len(positions), self.dim, dtype=self.dtype)
        for sl in sorted(set(seq_lens)):
            idx = [i for i, s in enumerate(seq_lens) if s == sl]
            inv = self.inv_freq_for(sl)
            pos = torch.tensor([positions[i] for i in idx], dtype=torch.int64).to(self.dtype)
            freqs = pos[:, None] * inv[None, :]  # == HF's (inv_freq[:,None] @ pos[None,:]).T, exact (K=1)
            emb = torch.cat((freqs, freqs), dim=-1)
            out_c[idx] = emb.cos() * self.attention_scaling
            out_s[idx] = emb.sin() * self.attention_scaling
        return out_c, out_s


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


# --------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------


class KVCache:
    """Per layer: keys (already rotated) and values, shape [n_kv_heads, T, head_dim]."""

    def __init__(self, n_layers):
        self.k = [None] * n_layers
        self.v = [None] * n_layers
        self.length = 0


class LlamaRef:
    def __init__(self, config_dict, weights, compute_dtype=torch.float32):
        self.cfg = cfg = ModelConfig(config_dict)
        self.dtype = compute_dtype
        W = {}
        for k, v in weights.items():
            W[k] = v.to(compute_dtype)  # bf16/f16 -> f32 upcast is exact
        if "lm_head.weight" not in W:
            if not cfg.tie_word_embeddings:
                raise ValueError("lm_head.weight missing but tie_word_embeddings is false")
            W["lm_head.weight"] = W["model.embed_tokens.weight"]
        elif cfg.tie_word_embeddings:
            # HF ties (overwrites) lm_head with the embedding when tie_word_embeddings is true
            W["lm_head.weight"] = W["model.embed_tokens.weight"]
        self.W = W
        self._check_weights()
        rope_dtype = torch.float64 if compute_dtype == torch.float64 else torch.float32
        self.rope = Rope(cfg, rope_dtype)

    def _check_weights(self):
        c = self.cfg
        H, hd, nh, nkv, I = c.hidden_size, c.head_dim, c.num_heads, c.num_kv_heads, c.intermediate_size
        exp = {"model.embed_tokens.weight": (c.vocab_size, H), "model.norm.weight": (H,),
               "lm_head.weight": (c.vocab_size, H)}
        for i in range(c.num_layers):
            p = f"model.layers.{i}."
            exp[p + "input_layernorm.weight"] = (H,)
            exp[p + "post_attention_layernorm.weight"] = (H,)
            exp[p + "self_attn.q_proj.weight"] = (nh * hd, H)
            exp[p + "self_attn.k_proj.weight"] = (nkv * hd, H)
            exp[p + "self_attn.v_proj.weight"] = (nkv * hd, H)
            exp[p + "self_attn.o_proj.weight"] = (H, nh * hd)
            if c.qkv_bias:
                exp[p + "self_attn.q_proj.bias"] = (nh * hd,)
                exp[p + "self_attn.k_proj.bias"] = (nkv * hd,)
                exp[p + "self_attn.v_proj.bias"] = (nkv * hd,)
            if c.o_bias:
                exp[p + "self_attn.o_proj.bias"] = (H,)
            if c.qk_norm:
                exp[p + "self_attn.q_norm.weight"] = (hd,)
                exp[p + "self_attn.k_norm.weight"] = (hd,)
            exp[p + "mlp.gate_proj.weight"] = (I, H)
            exp[p + "mlp.up_proj.weight"] = (I, H)
            exp[p + "mlp.down_proj.weight"] = (H, I)
            if c.mlp_bias:
                exp[p + "mlp.gate_proj.bias"] = (I,)
                exp[p + "mlp.up_proj.bias"] = (I,)
                exp[p + "mlp.down_proj.bias"] = (H,)
        for k, s in exp.items():
            assert k in self.W, f"missing tensor {k}"
            assert tuple(self.W[k].shape) == s, (k, tuple(self.W[k].shape), s)
        extra = set(self.W) - set(exp)
        assert not extra, f"unexpected tensors {sorted(extra)}"

    # ---- ops -------------------------------------------------------------------------
    def rmsnorm(self, x, w):
        input_dtype = x.dtype
        h = x.to(torch.float32) if input_dtype != torch.float64 else x
        var = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(var + self.cfg.rms_norm_eps)
        return w * h.to(input_dtype)

    def linear(self, x, name):
        b = self.W.get(name + ".bias")
        return F.linear(x, self.W[name + ".weight"], b)

    # ---- forward -----------------------------------------------------------------------
    def forward(self, ids, cache=None, rope_seq_lens=None):
        """ids: list[int] of new tokens. With a cache, they continue the cached sequence.
        rope_seq_lens: optional per-token dynamic-NTK seq_len override (default: one value,
        max(position)+1 of this call, as HF).  Returns logits [T, V] in compute dtype."""
        c = self.cfg
        start = cache.length if cache is not None else 0
        T = len(ids)
        positions = list(range(start, start + T))
        if rope_seq_lens is None:
            rope_seq_lens = [start + T] * T
        cos, sin = self.rope.cos_sin(positions, rope_seq_lens)
        cos = cos.to(self.dtype)
        sin = sin.to(self.dtype)
        nh, nkv, hd = c.num_heads, c.num_kv_heads, c.head_dim
        groups = nh // nkv
        x = self.W["model.embed_tokens.weight"][torch.tensor(ids, dtype=torch.int64)]
        q_pos = torch.tensor(positions, dtype=torch.int64)
        for li in range(c.num_layers):
            p = f"model.layers.{li}."
            res = x
            h = self.rmsnorm(x, self.W[p + "input_layernorm.weight"])
            q = self.linear(h, p + "self_attn.q_proj").view(T, nh, hd)
            k = self.linear(h, p + "self_attn.k_proj").view(T, nkv, hd)
            v = self.linear(h, p + "self_attn.v_proj").view(T, nkv, hd)
            if c.qk_norm:
                q = self.rmsnorm(q, self.W[p + "self_attn.q_norm.weight"])
                k = self.rmsnorm(k, self.W[p + "self_attn.k_norm.weight"])
            q = q.transpose(0, 1)  # [nh, T, hd]
            k = k.transpose(0, 1)
            v = v.transpose(0, 1)
            q = (q * cos) + (rotate_half(q) * sin)
            k = (k * cos) + (rotate_half(k) * sin)
            if cache is not None:
                if cache.k[li] is not None:
                    k = torch.cat([cache.k[li], k], dim=1)
                    v = torch.cat([cache.v[li], v], dim=1)
                cache.k[li], cache.v[li] = k, v
            S = k.shape[1]
            kr = k.repeat_interleave(groups, dim=0)
            vr = v.repeat_interleave(groups, dim=0)
            scores = torch.matmul(q, kr.transpose(1, 2)) * (hd ** -0.5)
            kv_pos = torch.arange(S, dtype=torch.int64)
            allowed = kv_pos[None, :] <= q_pos[:, None]
            win = c.layer_windows[li]
            if win is not None:
                allowed = allowed & (kv_pos[None, :] > q_pos[:, None] - win)
            scores = scores.masked_fill(~allowed[None], float("-inf"))
            sm_dtype = torch.float64 if self.dtype == torch.float64 else torch.float32
            probs = F.softmax(scores, dim=-1, dtype=sm_dtype).to(self.dtype)
            o = torch.matmul(probs, vr)  # [nh, T, hd]
            o = o.transpose(0, 1).reshape(T, nh * hd)
            x = res + self.linear(o, p + "self_attn.o_proj")
            res = x
            h = self.rmsnorm(x, self.W[p + "post_attention_layernorm.weight"])
            g = F.silu(self.linear(h, p + "mlp.gate_proj"))
            u = self.linear(h, p + "mlp.up_proj")
            x = res + self.linear(g * u, p + "mlp.down_proj")
        if cache is not None:
            cache.length = start + T
        x = self.rmsnorm(x, self.W["model.norm.weight"])
        return F.linear(x, self.W["lm_head.weight"])

    def new_cache(self):
        return KVCache(self.cfg.num_layers)


# --------------------------------------------------------------------------------------
# helpers used by the golden generator
# --------------------------------------------------------------------------------------


def log_softmax_f32(logits):
    return F.log_softmax(logits.to(torch.float32), dim=-1)


def greedy_decode(model, prompt_ids, n_new):
    """Prompt pass then n_new-1 single-token KV-cache steps (HF generate semantics, EOS ignored).
    Returns dict with prompt_logprobs [P,V] (f32), greedy ids, their logprobs, top-2 margins."""
    cache = model.new_cache()
    logits = model.forward(prompt_ids, cache)
    prompt_lp = log_softmax_f32(logits)
    last = logits[-1].to(torch.float32)
    ids, lps, margins = [], [], []
    for step in range(n_new):
        lp = F.log_softmax(last, dim=-1)
        top = torch.topk(last, 2)
        tok = int(torch.argmax(last))  # HF greedy: argmax (first index on exact ties)
        ids.append(tok)
        lps.append(float(lp[tok]))
        margins.append(float(top.values[0] - top.values[1]))
        if step + 1 < n_new:
            last = model.forward([tok], cache)[-1].to(torch.float32)
    return {"prompt_logprobs": prompt_lp, "greedy_ids": ids, "greedy_logprobs": lps, "margins": margins}


def full_forward_token_logprobs(model, prompt_ids, gen_ids, incremental_rope=False):
    """One cache-less forward over prompt+gen. Returns (logprobs [P+G, V], lp of each gen token).
    incremental_rope=True reproduces, per token, the dynamic-NTK seq_len that the incremental
    decode used (prompt tokens: P; generated token j fed at position P+j: P+j+1)."""
    seq = list(prompt_ids) + list(gen_ids)
    P = len(prompt_ids)
    rsl = None
    if incremental_rope:
        rsl = [P] * P + [P + j + 1 for j in range(len(gen_ids))]
    lp = log_softmax_f32(model.forward(seq, None, rope_seq_lens=rsl))
    tok_lp = [float(lp[P - 1 + j, t]) for j, t in enumerate(gen_ids)]
    return lp, tok_lp


def load_model(model_dir, compute_dtype=torch.float32):
    config, weights = load_checkpoint(model_dir)
    if config.get("quantization_config"):  # GPTQ / AWQ: packed Linear weights -> float32 (exact)
        import quant_ref

        weights = quant_ref.dequantize_checkpoint(config, weights)
    return LlamaRef(config, weights, compute_dtype)


if __name__ == "__main__":
    import sys

    if len(sys.argv) < 2:
        print("usage: llama_ref.py MODEL_DIR [token ids...]")
        sys.exit(2)
    m = load_model(sys.argv[1])
    ids = [int(t) for t in sys.argv[2:]] or [1]
    r = greedy_decode(m, ids, 16)
    print("greedy:", r["greedy_ids"])
