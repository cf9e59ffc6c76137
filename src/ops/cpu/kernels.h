#pragma once
// The interface between the matmul driver (matmul.cpp, portable) and the SIMD kernel files
// (*_avx2.cpp, *_avx512.cpp, compiled with their instruction set's flags).
//
// Plain declarations only. This header is included by files compiled with -mavx2 / -mavx512*,
// so it must not define any inline function, template or include a header that does (see
// dispatch.h): a copy compiled with AVX instructions could be the one the linker keeps.
#include <cstddef>
#include <cstdint>

#include "tensor/type_id.h"

namespace hearth::ops::cpu {

// A type's slot in KernelTable: its ggml id. consteval, so it is never compiled into code (the
// rule above about inline functions); the table grows with the enum, no list to keep here.
consteval uint32_t slot(TensorType type) { return static_cast<uint32_t>(type); }

// One matmul: y[t][r] = Σ_k w[r][k] · x[t][k].
struct GemmArgs {
    const uint8_t* w;       // weight row 0, in its stored block layout
    size_t w_stride;        // bytes between weight rows
    int64_t cols;           // elements per row (a multiple of the type's block size)
    const uint8_t* x;       // token 0's activations in the weight type's ActFormat (TypeTraits::act)
    size_t x_stride;        // bytes between token rows (a multiple of 64 for Q8 formats)
    size_t x_scale_offset;  // ActRowLayout::scale_offset (Q8 formats)
    size_t x_sum_offset;    // ActRowLayout::sum_offset (Q8 formats)
    int64_t n_tokens;
    float* y;               // y[t * y_stride + r]
    int64_t y_stride;
};

// Computes rows [r0, r1) of y for every token.
using GemmFn = void (*)(const GemmArgs& args, int64_t r0, int64_t r1);

// Quantizes one activation row (bit-identical to tensor/quantize_activations.cpp).
using QuantizeRowFn = void (*)(const float* x, uint8_t* dst, int64_t n, size_t scale_offset,
                               size_t sum_offset);

// The activation format a kernel reads is its weight type's TypeTraits::act (tensor/types.h).
struct Kernel {
    GemmFn gemm = nullptr;  // nullptr: no kernel for this type on this path
};

// Attention for one token and one KV head, over cache rows 0..n_keys-1 (`stride` elements
// apart, float or fp16 by the function's KV type). The n_q query heads that share the KV head
// are contiguous: q and out are [n_q][dim], scores is [n_q][n_keys].
//   scores[h][p] = scale · q[h] · k[p]
using AttnScoresFn = void (*)(const float* q, int n_q, int dim, const void* k, int64_t stride, int64_t n_keys,
                              float scale, float* scores);
//   out[h] = Σ_p weights[h][p] · v[p]
using AttnValuesFn = void (*)(const float* weights, int n_q, int64_t n_keys, const void* v, int64_t stride, int dim,
                              float* out);

// Small float GEMM for the chunked delta rule (recurrent.cpp): for i < m, j < n,
//   c[i·ldc + j] += Σ_{p<k} a[i·lda + p] · b[p·ldb + j].
// c must not overlap a or b.
using SmallGemmFn = void (*)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                             int64_t ldb, float* c, int64_t ldc);

// One value head of the gated delta rule, token by token (ops.h gated_delta_net): q and k point
// at the head's key head in token 0's row, v and out at the value head, g and beta at the head's
// entry of token 0; each advances by its stride per token. state: [k_dim][v_dim].
struct DeltaHeadArgs {
    const float* q;
    const float* k;
    int64_t qk_stride;
    const float* v;
    int64_t v_stride;
    const float* g;
    const float* beta;
    int64_t gate_stride;
    float* out;
    int64_t out_stride;
    int64_t n_tokens;
    int64_t k_dim;
    int64_t v_dim;
    float scale;
    float* state;
};
using DeltaTokensFn = void (*)(const DeltaHeadArgs& args);

// Kernels of one path, indexed by ggml type id.
struct KernelTable {
    static constexpr int kTypes = slot(TensorType::MXFP4) + 1;  // the largest id hearth knows
    Kernel by_type[kTypes];
    Kernel x16[kTypes];  // weights in the row-interleaved layout of repack.h (w_stride: bytes per 16-row group)
    QuantizeRowFn quantize_q8_32 = nullptr;   // nullptr: use the portable quantizer
    QuantizeRowFn quantize_q8_256 = nullptr;
    AttnScoresFn attn_scores_f32 = nullptr, attn_scores_f16 = nullptr;  // nullptr: reference attention
    AttnValuesFn attn_values_f32 = nullptr, attn_values_f16 = nullptr;
    SmallGemmFn small_gemm_f32 = nullptr;  // nullptr: the reference delta rule (recurrent.cpp)
    DeltaTokensFn delta_tokens = nullptr;
};

// The table of the active dispatch path; nullptr on the scalar path (the reference code).
const KernelTable* active_kernel_table();

// Each SIMD file adds its kernels to a path's table (called once, only on CPUs with that path).
void add_float_kernels_avx2(KernelTable& table);
void add_legacy_quant_kernels_avx2(KernelTable& table);
void add_k_quant_kernels_avx2(KernelTable& table);
void add_quantizers_avx2(KernelTable& table);
void add_attention_kernels_avx2(KernelTable& table);
void add_repacked_kernels_avx2(KernelTable& table);
void add_delta_rule_kernels_avx2(KernelTable& table);
void add_float_kernels_avx512(KernelTable& table);
void add_legacy_quant_kernels_avx512(KernelTable& table);
void add_k_quant_kernels_avx512(KernelTable& table);
void add_quantizers_avx512(KernelTable& table);
void add_attention_kernels_avx512(KernelTable& table);
void add_repacked_kernels_avx512(KernelTable& table);
void add_delta_rule_kernels_avx512(KernelTable& table);

}  // namespace hearth::ops::cpu
