#!/usr/bin/python3
"""Dequantization of Hugging Face GPTQ and AWQ checkpoints (torch 1.13 + numpy only).

Written from the formats' public definitions, independently of Loom and of the packers in
make_quant_checkpoints.py:

  GPTQ (AutoGPTQ / GPTQModel; vLLM model_executor/layers/quantization/gptq.py):
    qweight int32 [in // pf, out]   pf = 32 // bits values per word, packed along the input dim,
                                    input row i in bits [bits * (i % pf), ...) of word row i // pf
    qzeros  int32 [groups, out // pf]  packed along the output dim the same way
    scales  f16   [groups, out]
    g_idx   int32 [in]              group of each input column; used when desc_act (act-order),
                                    otherwise the group is i // group_size (as vLLM)
    checkpoint_format "gptq" (AutoGPTQ v1) stores zero - 1: the zero is stored + 1; "gptq_v2"
    stores the zero.
  AWQ GEMM (AutoAWQ WQLinear_GEMM; vLLM awq.py / awq_triton.py):
    qweight int32 [in, out // 8]    packed along the output dim; output column 8 w + k sits in
                                    nibble AWQ_REVERSE_ORDER[k] = [0, 4, 1, 5, 2, 6, 3, 7][k]
    qzeros  int32 [in // group_size, out // 8]  the same packing; no offset
    scales  f16   [in // group_size, out]
  Both: weight[out, in] = scales[g, out] * (q[in, out] - zero[g, out]).

The product of an f16 scale and a small integer is exact in float32, so the float32 weights
returned here are the checkpoint's values exactly.
"""

import numpy as np
import torch

AWQ_REVERSE_ORDER = [0, 4, 1, 5, 2, 6, 3, 7]


def _u32(t):
    return t.numpy().astype(np.int64) & 0xFFFFFFFF


def unpack_gptq_rows(qweight, bits):
    """int32 [in // pf, out] -> int64 [in, out]."""
    pf = 32 // bits
    w = _u32(qweight)
    rows = np.repeat(w, pf, axis=0)  # row i is word row i // pf
    shifts = (np.arange(rows.shape[0]) % pf) * bits
    return (rows >> shifts[:, None]) & ((1 << bits) - 1)


def unpack_gptq_cols(qzeros, bits):
    """int32 [g, out // pf] -> int64 [g, out]."""
    pf = 32 // bits
    w = _u32(qzeros)
    cols = np.repeat(w, pf, axis=1)
    shifts = (np.arange(cols.shape[1]) % pf) * bits
    return (cols >> shifts[None, :]) & ((1 << bits) - 1)


def unpack_awq_cols(packed):
    """int32 [r, out // 8] -> int64 [r, out] (AWQ's interleaved nibble order)."""
    w = _u32(packed)
    cols = np.repeat(w, 8, axis=1)
    shifts = np.array([4 * AWQ_REVERSE_ORDER[o % 8] for o in range(cols.shape[1])])
    return (cols >> shifts[None, :]) & 0xF


def dequantize_gptq(qc, qweight, qzeros, scales, g_idx):
    bits = qc["bits"]
    q = unpack_gptq_rows(qweight, bits)  # [in, out]
    z = unpack_gptq_cols(qzeros, bits)  # [groups, out]
    if qc.get("checkpoint_format", "gptq") == "gptq":
        z = z + 1
    n_in = q.shape[0]
    gs = qc.get("group_size", 128)
    if qc.get("desc_act", False) and gs != -1:
        g = g_idx.numpy().astype(np.int64)
    else:
        g = np.zeros(n_in, dtype=np.int64) if gs == -1 else np.arange(n_in) // gs
    v = q - z[g]  # [in, out] integers
    w = scales.to(torch.float32)[torch.from_numpy(g)] * torch.from_numpy(v.astype(np.float32))
    return w.t().contiguous(), v


def dequantize_awq(qc, qweight, qzeros, scales):
    q = unpack_awq_cols(qweight)  # [in, out]
    z = unpack_awq_cols(qzeros)  # [groups, out]
    gs = qc.get("group_size", qc.get("q_group_size", 128))
    n_in = q.shape[0]
    g = np.zeros(n_in, dtype=np.int64) if gs == -1 else np.arange(n_in) // gs
    v = q - z[g]
    w = scales.to(torch.float32)[torch.from_numpy(g)] * torch.from_numpy(v.astype(np.float32))
    return w.t().contiguous(), v


def dequantize_checkpoint(config, weights, ints=None):
    """weights with every packed module replaced by its float32 `.weight` [out, in].
    ints, if a dict, receives each module's integer q - zero [in, out]."""
    qc = config["quantization_config"]
    method = qc["quant_method"]
    out = {}
    modules = sorted(k[: -len(".qweight")] for k in weights if k.endswith(".qweight"))
    packed = {m + s for m in modules for s in (".qweight", ".qzeros", ".scales", ".g_idx")}
    for k, v in weights.items():
        if k not in packed:
            out[k] = v
    for m in modules:
        if method == "gptq":
            w, v = dequantize_gptq(qc, weights[m + ".qweight"], weights[m + ".qzeros"], weights[m + ".scales"],
                                   weights.get(m + ".g_idx"))
        elif method == "awq":
            w, v = dequantize_awq(qc, weights[m + ".qweight"], weights[m + ".qzeros"], weights[m + ".scales"])
        else:
            raise ValueError(f"quant_method {method}")
        assert m + ".weight" not in out, m
        out[m + ".weight"] = w
        if ints is not None:
            ints[m] = v
    return out
