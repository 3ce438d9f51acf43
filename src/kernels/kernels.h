// CPU kernels on raw row-major buffers. Activations are f32; matmul weights may be f32/f16/bf16
// or one of ggml's block-quantized types (core/dtype.h).
// Every kernel has a scalar reference in kernels/ref (the test oracle) and fast paths in
// kernels/cpu chosen once at run time by ISA (AVX-512 > AVX2 > scalar; see dispatch.h).
#pragma once

#include <cstdint>
#include <span>

#include "core/dtype.h"

namespace loom::kernels {

// What MatMul multiplies the weights by.
//  kF32: x as given (every product and sum in f32 or better): the reference semantics.
//  kLikeWeights: x rounded toward the weights' precision where the CPU multiplies that faster, as
//    llama.cpp does and as vLLM's bf16 compute does: to bf16 (nearest even) for bf16 weights,
//    through Q8_0 (kernels::Quantize then Dequantize, per row) for Q8_0, Q4_0 and Q6_K weights
//    (llama.cpp rounds to Q8_K for Q6_K: the same 8 bits, one scale per 256, not 32). Only
//    Isa::kAvx512Bf16 has such paths (vdpbf16ps, vpdpbusd); elsewhere this is kF32.
enum class Activations { kF32, kLikeWeights };

// y[m, n] = x[m, k] · w[n, k]^T (+ bias[n]). x, y, bias f32; w in `w_dtype` (HF Linear layout,
// [out_features, in_features]): n rows of RowBytes(w_dtype, k) bytes, so for a block-quantized
// w_dtype k must be a multiple of DTypeBlockElems(w_dtype). bias may be null.
void MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
            int64_t n, int64_t k, Activations activations = Activations::kF32);

// One product of MatMuls: y[m, n] = x · w[n, k]^T (+ bias[n]), w in w_dtype.
struct MatMulOut {
  const void* w;
  DType w_dtype;
  const float* bias;  // may be null
  float* y;
  int64_t n;
};
// MatMul of one x by several weights (a layer's q, k, v or gate, up projections, as vLLM's
// QKVParallelLinear and MergedColumnParallelLinear), each y as MatMul's bit for bit. Where they
// share an interleaved layout, x is rounded once and the threads split all their panels at once.
void MatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k,
             Activations activations = Activations::kF32);

// The layout in which MatMul(..., activations) reads weights [n, k] of w_dtype fastest on this
// CPU: DType::kQ4_0x16 / kQ8_0x16 (kernels/interleaved.h) for Q4_0 / Q8_0 weights under
// Activations::kLikeWeights on Isa::kAvx512Bf16 when n is a multiple of 16 and k of 64;
// otherwise w_dtype itself. Weights in an interleaved layout go only to MatMul with kLikeWeights.
DType PreferredWeightLayout(DType w_dtype, int64_t n, int64_t k, Activations activations);
// dst <- w [n, k] of w_dtype rearranged into `layout`, a PreferredWeightLayout other than w_dtype
// (the same n * RowBytes(w_dtype, k) bytes).
void RepackWeights(const void* w, DType w_dtype, DType layout, void* dst, int64_t n, int64_t k);

// dst f32 [n] <- src: n elements in any dtype (n a multiple of DTypeBlockElems(t)). Bit-exact
// with ggml's dequantize_row_* for the block-quantized types. For loading and embedding rows.
void Dequantize(const void* src, DType t, float* dst, int64_t n);

// True for the types Quantize writes: Q8_0, Q4_0, Q4_K (online quantization).
bool CanQuantize(DType t);

// dst (RowBytes(t, n) bytes) <- src f32 [n], n a multiple of DTypeBlockElems(t), with ggml's
// reference quantizer for t (llama-quantize's choice without an importance matrix, so the bytes
// match llama.cpp's). Aborts unless CanQuantize(t): callers validate first.
void Quantize(const float* src, DType t, void* dst, int64_t n);

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight[:]; x, y [rows, dim] (may alias).
void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps);

// out[i] = silu(gate[i]) * up[i] (SwiGLU); n elements; out may alias gate or up.
void SiluMul(const float* gate, const float* up, float* out, int64_t n);
// In place, element-wise.
void Silu(float* x, int64_t n);
void GeluErf(float* x, int64_t n);   // HF "gelu": 0.5 x (1 + erf(x / sqrt 2))
void GeluTanh(float* x, int64_t n);  // HF "gelu_pytorch_tanh"

// In place softmax over each row of x [rows, cols].
void Softmax(float* x, int64_t rows, int64_t cols);
// y[r, :] = log_softmax(x[r, :]) for x, y [rows, cols]; may alias.
void LogSoftmax(const float* x, float* y, int64_t rows, int64_t cols);

// Rotary embedding, rotate-half (NeoX/HF Llama) form, in place on x [n_tokens, n_heads, head_dim]:
// for d < head_dim/2: (x[d], x[d + half]) <- (x[d] cos - x[d + half] sin, x[d + half] cos + x[d]
// sin) with cos, sin [n_tokens, head_dim/2] (already position- and scaling-specific).
void RopeNeox(float* x, const float* cos, const float* sin, int64_t n_tokens, int64_t n_heads,
              int64_t head_dim);

// Paged KV cache. Layout per layer and per K / V: [num_blocks, n_kv_heads, block_size, head_dim]
// in kv_dtype (f32, f16 or bf16), vLLM's CPU order: one KV head's rows of a block are contiguous,
// so attention streams block_size * head_dim elements at a time. Slot s = block * block_size +
// offset addresses one token; its row of head h starts at element
// ((block * n_kv_heads + h) * block_size + offset) * head_dim (KvCacheOffset).
constexpr int64_t KvCacheOffset(int64_t slot, int64_t head, int64_t n_kv_heads, int64_t head_dim,
                                int64_t block_size) {
  return ((slot / block_size * n_kv_heads + head) * block_size + slot % block_size) * head_dim;
}

// Stores k, v (f32 [n, n_kv_heads, head_dim]) into the cache slots slot_mapping[i] (int64 [n]),
// converting to kv_dtype (round to nearest even). A negative slot skips the token (padding).
void WriteKv(const float* k, const float* v, void* k_cache, void* v_cache, DType kv_dtype,
             const int64_t* slot_mapping, int64_t n, int64_t n_kv_heads, int64_t head_dim,
             int64_t block_size);

// Causal attention of a batch of sequences over their paged K/V (all keys, including this step's,
// already written by WriteKv).
//   q, out         f32 [total_q, n_heads, head_dim]; sequence s owns rows
//                  [query_start[s], query_start[s + 1])  (query_start int64 [num_seqs + 1])
//   context_lens   int64 [num_seqs]: keys of sequence s in total, so its query i sits at position
//                  context_lens[s] - n_q_s + i (n_q_s <= context_lens[s])
//   block_tables   int32 [num_seqs, max_blocks_per_seq]: key j of sequence s lives in block
//                  block_tables[s * max_blocks_per_seq + j / block_size], row j % block_size;
//                  entries past the last key's block are never read
// Query at p sees key j iff j <= p and (window <= 0 or p - j < window). Query head h reads KV head
// h / (n_heads / n_kv_heads). scores = q·k * scale, softmax in f32.
void PagedAttention(const float* q, const void* k_cache, const void* v_cache, DType kv_dtype,
                    int64_t block_size, const int32_t* block_tables, int64_t max_blocks_per_seq,
                    const int64_t* query_start, const int64_t* context_lens, int64_t num_seqs,
                    float* out, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                    int64_t window, float scale);

}  // namespace loom::kernels
