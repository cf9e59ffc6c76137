#pragma once
// The contract between the model graph and a compute backend. The model describes *what* to
// compute (in PyTorch order); implementations in ops/cpu/ decide *how*. A future GPU backend
// implements the same functions. All activations are float32, row-major [n_tokens][width].
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "tensor/types.h"

namespace hearth::ops {

// How a weight matrix's bytes are arranged.
enum class WeightLayout {
    Rows,           // as in the GGUF file: row after row, each a run of blocks
    Interleaved16,  // rewritten at load for the backend's matrix kernels (ops/cpu/repack.h)
};

// A weight matrix in its stored type: `rows` rows of `cols` elements each (ggml's ne1 × ne0),
// used in place from the mapped file, or repacked into memory the matrix owns.
struct Matrix {
    const TypeTraits* type = nullptr;
    const uint8_t* data = nullptr;
    int64_t cols = 0;
    int64_t rows = 0;
    size_t row_bytes = 0;  // bytes of one row in the file's layout
    std::string name;
    WeightLayout layout = WeightLayout::Rows;
    size_t group_bytes = 0;                  // Interleaved16: bytes of one group of 16 rows
    std::shared_ptr<const uint8_t> storage;  // owns `data` when the matrix was repacked

    bool empty() const { return data == nullptr; }
    // Row r in the file's layout; only for WeightLayout::Rows (get_row works for any layout).
    const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes; }
    // Bytes the weights occupy in this layout.
    size_t bytes() const;
};

// Whether the active backend reads `w` faster in another layout: the types with an x16 kernel
// on the active path (ops/cpu/README.md lists them) are repacked into 16-row-interleaved
// blocks. The environment variable HEARTH_REPACK=0 turns repacking off (to compare, or to keep
// every weight mapped).
bool prefers_repacked(const Matrix& w);
// A copy of `w` in the backend's preferred layout, in memory the copy owns; the arithmetic on
// it is the same as on `w`. Converts on `pool`'s threads when given one, slice by slice,
// calling `done(bytes, n)` with each range of w's data that has been copied (the caller may
// release it: a loader drops the mapped pages so that memory never holds two copies).
Matrix repack(const Matrix& w, ThreadPool* pool = nullptr,
              const std::function<void(const uint8_t*, size_t)>& done = {});
// The same for several matrices (an expert stack) in one allocation: experts smaller than a
// 2 MiB page then still sit in huge pages, which matters when each token reads a few of them.
std::vector<Matrix> repack(std::span<const Matrix> ws, ThreadPool* pool = nullptr,
                           const std::function<void(const uint8_t*, size_t)>& done = {});

// Everything a kernel may use besides its operands: the threads.
struct Context {
    ThreadPool* pool = nullptr;
};

// y[t][r] = Σ_k w[r][k] · x[t][k] for t < n_tokens, r < w.rows. x is [n_tokens][w.cols],
// y is [n_tokens][w.rows]. Each weight row is converted once for the whole batch.
void matmul(Context& ctx, const Matrix& w, const float* x, int64_t n_tokens, float* y);

// out[i] = dequantized row `index` of w (an embedding lookup).
void get_row(const Matrix& w, int64_t index, float* out);

// x[t] ← x[t] / sqrt(mean(x[t]²) + eps) · weight, for each of n_rows rows of width n (a null
// weight: no weight, gemma4's value norm).
void rmsnorm(float* x, const float* weight, int64_t n_rows, int64_t n, float eps);
void rmsnorm(const float* x, float* out, const float* weight, int64_t n_rows, int64_t n, float eps);

// y[i] += b[i % n] over n_rows rows of width n (biases).
void add_bias(float* y, const float* bias, int64_t n_rows, int64_t n);
// a[i] += b[i].
void add(float* a, const float* b, int64_t n);
// gate[i] ← silu(gate[i]) · up[i].
void silu_mul(float* gate, const float* up, int64_t n);
// x[i] ← silu(x[i]) = x[i] · σ(x[i]).
void silu(float* x, int64_t n);
// x[i] ← x[i] · σ(gate[i]) (output gates).
void sigmoid_mul(float* x, const float* gate, int64_t n);
// gate[i] ← gelu(gate[i]) · up[i], GELU in its tanh approximation (GeGLU).
void gelu_tanh_mul(float* gate, const float* up, int64_t n);
// gpt-oss's clamped SwiGLU: g = min(gate, limit), u = clamp(up, ±limit),
// gate[i] ← g · σ(alpha·g) · (u + 1).
void swiglu_oai(float* gate, const float* up, int64_t n, float alpha, float limit);
// x[i] *= s.
void scale(float* x, float s, int64_t n);
// x[i] ← cap · tanh(x[i] / cap): soft-capping of logits (gemma).
void softcap(float* x, float cap, int64_t n);

enum class RopeStyle {
    Adjacent,  // rotates pairs (2i, 2i+1): llama.cpp's "NORM", used by `llama`
    Halves,    // rotates pairs (i, i + n_rot/2): "NEOX", used by qwen2/qwen3
};

// Rotary position embedding, in place on `n_tokens` rows of `n_heads` heads of `head_dim`.
// Only the first n_rot dims of each head rotate. θ_i = pos · freq_scale · base^(−2i/n_rot) /
// freq_factors[i] (freq_factors may be null = all 1); cos and sin are multiplied by
// attn_factor. With YaRN (yarn_ext_factor > 0) the scaled and unscaled angles are blended per
// dimension by a ramp between the dims that turn fewer than beta_fast and more than beta_slow
// times over the original context, and the magnitude grows by 1 + 0.1·ln(1/freq_scale).
struct RopeParams {
    RopeStyle style = RopeStyle::Adjacent;
    int n_rot = 0;
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;
    const float* freq_factors = nullptr;  // [n_rot / 2] or null
    float attn_factor = 1.0f;
    float yarn_ext_factor = 0.0f;         // 0: plain (linear) scaling
    int yarn_n_ctx_orig = 0;
    float yarn_beta_fast = 32.0f;
    float yarn_beta_slow = 1.0f;
};
void rope(float* x, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim,
          const RopeParams& p);

// In-place softmax over n values.
void softmax(float* x, int64_t n);
// Softmax whose denominator also holds exp(sink), a logit that takes probability without a
// value (gpt-oss's attention sinks).
void softmax_with_sink(float* x, int64_t n, float sink);

}  // namespace hearth::ops

namespace hearth::ops {

enum class KvType { F32, F16 };
const char* kv_type_name(KvType t);
size_t kv_type_bytes(KvType t);

// One layer of a KV cache: position p's keys are k + p·k_width elements (all KV heads of
// head_dim side by side), likewise values. Attention reads through this view.
struct KvLayerView {
    KvType type = KvType::F16;
    const void* k = nullptr;
    const void* v = nullptr;
    int64_t k_width = 0;  // n_head_kv · head_dim
    int64_t v_width = 0;  // n_head_kv · head_dim_v
};
// The same layer for the one writer (kv_store).
struct KvLayerStore {
    KvType type = KvType::F16;
    void* k = nullptr;
    void* v = nullptr;
    int64_t k_width = 0;
    int64_t v_width = 0;
};

// Stores n_tokens rows of keys/values at the given positions (converting to the cache type).
void kv_store(const KvLayerStore& kv, const float* k, const float* v, const int32_t* positions,
              int64_t n_tokens);

// Causal multi-head attention with grouped KV heads: the query of token t (at positions[t])
// attends to cache positions 0..positions[t], or to the last `window` of them. q is [n_tokens][n_head·head_dim], out is
// [n_tokens][n_head·head_dim_v]. Query head h reads KV head h / (n_head / n_head_kv).
struct AttentionShape {
    int n_head = 0;
    int n_head_kv = 0;
    int head_dim = 0;
    int head_dim_v = 0;
    float scale = 1.0f;  // usually 1/sqrt(head_dim)
    int window = 0;      // > 0: the query at p sees keys p − window + 1 … p (sliding window)
    const float* sinks = nullptr;  // [n_head] or null: a per-head logit in each softmax's denominator
};
void attention(Context& ctx, const float* q, const int32_t* positions, int64_t n_tokens,
               const KvLayerView& kv, const AttentionShape& shape, float* out);

}  // namespace hearth::ops

// Recurrent (linear-attention) layers: Qwen3.5 / 3.6's gated DeltaNet. A sequence carries a
// fixed-size state instead of a KV cache; these ops take it in, advance it over n_tokens
// tokens in order, and leave it for the next call, so one call over T tokens and T calls over
// one token give the same result.
namespace hearth::ops {

// The short causal depthwise convolution in front of the recurrence: out[t][c] =
// Σ_{j<kernel} w[c·kernel + j] · in[t − (kernel−1) + j][c]. Inputs before this call come from
// `state` ([kernel−1][channels], oldest first; zeros at a sequence's start), which is left
// holding the last kernel−1 inputs. `in` and `out` must not overlap.
void causal_conv1d(const float* in, int64_t n_tokens, int64_t channels, const float* w, int kernel, float* state,
                   float* out);

// x ← x / sqrt(Σx² + eps) over each run of `n` values (per-head L2 normalisation).
void l2_normalize(float* x, int64_t n_rows, int64_t n, float eps);

// The gated delta rule. Per value head j (which reads key/query head j mod n_k_heads: heads are
// tiled, not grouped) with state S [k_dim][v_dim], for each token t:
//   S ← e^{g[t][j]} · S;  δ = β[t][j] · (v_t − Sᵀk_t);  S ← S + k_t δᵀ;  o_t = scale · Sᵀq_t.
// q, k: [n_tokens][n_k_heads·k_dim]; v, out: [n_tokens][n_v_heads·v_dim] (q, k, v with the
// shape's row strides where set); g (log decay, ≤ 0)
// and beta: [n_tokens][n_v_heads]; state: [n_v_heads][k_dim][v_dim], updated in place.
// A prompt runs in chunks: within C tokens the same recurrence is solved in closed form (a
// triangular system for the δs, then small matrix products), so S is read and written once per
// chunk instead of once per token. The result equals token by token up to float rounding.
struct DeltaNetShape {
    int n_k_heads = 0;
    int n_v_heads = 0;
    int k_dim = 0;
    int v_dim = 0;
    float scale = 1.0f;  // usually 1/sqrt(k_dim)
    // Floats from one token's row to the next, when q, k and v are columns of a wider row
    // (0: packed, the widths above).
    int64_t qk_row_stride = 0;
    int64_t v_row_stride = 0;
    // How one call walks its tokens: 0 decides (chunks of kDeltaChunk tokens for calls of at
    // least kDeltaChunkMin tokens, else token by token); 1 token by token; c > 1 chunks of c
    // (at most kDeltaChunkMax). Tests pin it; the model leaves it at 0.
    int chunk = 0;
};
inline constexpr int kDeltaChunk = 64;
inline constexpr int kDeltaChunkMin = 16;
inline constexpr int kDeltaChunkMax = 256;
void gated_delta_net(Context& ctx, const float* q, const float* k, const float* v, const float* g,
                     const float* beta, int64_t n_tokens, const DeltaNetShape& shape, float* state, float* out);

}  // namespace hearth::ops
