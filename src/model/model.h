#pragma once
// A loaded llama-family model: hyperparameters, weights viewed in place from the GGUF map,
// and the forward pass. No CPU details here: the math goes through ops/.
#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "ops/ops.h"

namespace hearth {

struct RunState;

// One block's weights; which of them exist is the architecture's manifest (model/arch.h).
// Matrices are [rows × cols] = [out × in]; vectors were converted to float at load.
struct LayerWeights {
    // Attention.
    std::vector<float> attn_norm;             // [n_embd]
    ops::Matrix wq, wk, wv;                   // [q_width × n_embd], [kv_width × n_embd], [v_width × n_embd]
    ops::Matrix wqkv;                         // fused (phi3): q rows, then k rows, then v rows
    ops::Matrix wo;                           // [n_embd × n_head·head_dim_v]
    std::vector<float> bq, bk, bv, bo;        // optional biases
    std::vector<float> q_norm, k_norm;        // per-head RMSNorm of q and k before rope: [head_dim]
    std::vector<float> sinks;                 // per-head sink logits (gpt-oss): [n_head]
    std::vector<float> post_attn_norm;        // RMSNorm of the attention output (gemma): [n_embd]
    // Feed-forward.
    std::vector<float> ffn_norm;              // [n_embd]
    ops::Matrix w_gate, w_up, w_down;         // dense: [n_ff × n_embd] ×2, [n_embd × n_ff];
                                              // fused (phi3): no w_gate, w_up is [2·n_ff × n_embd], gate rows first
    std::vector<float> post_ffn_norm;         // RMSNorm of the FFN output (gemma): [n_embd]
    // Mixture of experts.
    ops::Matrix router;                       // [n_expert × n_embd]
    std::vector<float> router_bias;           // [n_expert] (gpt-oss)
    std::vector<ops::Matrix> gate_exps, up_exps, down_exps;  // per expert: [n_ff_exp × n_embd] ×2, [n_embd × n_ff_exp]
    std::vector<float> gate_exps_bias, up_exps_bias, down_exps_bias;  // [n_expert][width] (gpt-oss)
    std::vector<float> shexp_gate;            // shared expert (qwen35moe): σ(shexp_gate·h) scales it [n_embd]
    ops::Matrix gate_shexp, up_shexp, down_shexp;  // [n_ff_shexp × n_embd] ×2, [n_embd × n_ff_shexp]
    // Gated delta-net (the recurrent layers of hybrids; hparams.h DeltaNetParams for the sizes).
    ops::Matrix ssm_qkv;                      // [conv_channels × n_embd]: q, k, v rows
    ops::Matrix ssm_z;                        // [inner × n_embd]: the output gate z
    std::vector<float> ssm_conv;              // [conv_channels][conv_kernel]
    std::vector<float> ssm_dt_bias, ssm_a;    // [n_v_heads]; ssm_a < 0 scales the decay
    ops::Matrix ssm_beta, ssm_alpha;          // [n_v_heads × n_embd]: write strength, decay
    std::vector<float> ssm_norm;              // [state_size], shared by the heads
    ops::Matrix ssm_out;                      // [n_embd × inner]
    // Gemma 4.
    std::vector<float> layer_out_scale;       // [1]: multiplies the layer's output (optional)
    ops::Matrix ple_gate;                     // per-layer embeddings: [n_embd_per_layer × n_embd]
    ops::Matrix ple_proj;                     // [n_embd × n_embd_per_layer]
    std::vector<float> ple_post_norm;         // [n_embd]

    // Every single (not per-expert) matrix slot, empty ones included: one list for repacking,
    // accounting and bytes per token.
    auto matrix_slots() {
        return std::array{&wq, &wk, &wv, &wqkv, &wo, &w_gate, &w_up, &w_down, &router, &gate_shexp, &up_shexp,
                          &down_shexp, &ssm_qkv, &ssm_z, &ssm_beta, &ssm_alpha, &ssm_out, &ple_gate, &ple_proj};
    }
    auto matrix_slots() const {
        return std::array{&wq, &wk, &wv, &wqkv, &wo, &w_gate, &w_up, &w_down, &router, &gate_shexp, &up_shexp,
                          &down_shexp, &ssm_qkv, &ssm_z, &ssm_beta, &ssm_alpha, &ssm_out, &ple_gate, &ple_proj};
    }
    auto vector_slots() const {
        return std::array{&attn_norm, &bq, &bk, &bv, &bo, &q_norm, &k_norm, &sinks, &post_attn_norm, &ffn_norm,
                          &post_ffn_norm, &router_bias, &gate_exps_bias, &up_exps_bias, &down_exps_bias, &shexp_gate,
                          &ssm_conv, &ssm_dt_bias, &ssm_a, &ssm_norm, &layer_out_scale, &ple_post_norm};
    }
};

struct ModelWeights {
    ops::Matrix token_embd;                   // [n_vocab × n_embd]
    std::vector<float> output_norm;           // [n_embd]
    ops::Matrix output;                       // [n_vocab × n_embd]; token_embd when tied
    bool tied_output = false;
    std::vector<float> rope_freqs;            // optional llama3 frequency factors [n_rot / 2]
    std::vector<float> rope_factors_short, rope_factors_long;  // LongRoPE (phi3) [n_rot / 2]
    // Per-layer embeddings (gemma4 E2B/E4B): a row per token holds every layer's slice.
    ops::Matrix ple_token_embd;               // [n_vocab × n_layer·n_embd_per_layer]
    ops::Matrix ple_model_proj;               // [n_layer·n_embd_per_layer × n_embd]
    std::vector<float> ple_proj_norm;         // [n_embd_per_layer]
    std::vector<LayerWeights> layers;

    // Every matrix a forward pass may read, for repacking and accounting.
    std::vector<const ops::Matrix*> matrices() const;
};

// Which positions of a batch need logits.
enum class LogitsFor { Last, All };

// One sequence's share of a batched forward pass: `tokens` go at consecutive positions from
// `n_past` of that sequence's own cache. Decoding sequences bring one token, a new prompt a chunk.
struct SequenceBatch {
    std::span<const int32_t> tokens;
    int n_past = 0;
    KvCache* cache = nullptr;
};

class Model {
public:
    // Loads and checks every tensor's presence, type and shape against the hyperparameters.
    static std::unique_ptr<Model> load(std::shared_ptr<const gguf::File> file);

    const HParams& hparams() const { return hp_; }
    const ModelWeights& weights() const { return w_; }
    const gguf::File& file() const { return *file_; }
    // Bytes of weights one generated token reads: every dense matrix once, the routed experts
    // of each MoE layer (n_expert_used of n_expert, on average), and one embedding row.
    size_t bytes_per_token() const;
    // Weight parameters that run for one token (the routed experts only), for --help and info.
    uint64_t active_params() const;
    // Bytes the loader copied out of the map (1-D tensors as floats); memory::model_host_copy_bytes
    // predicts this.
    size_t host_copy_bytes() const;

    // Runs `tokens` at consecutive positions starting at `n_past`, writing their K/V into
    // `cache`. Fills logits with n_vocab floats per requested position (1 or tokens.size()).
    // The 1-sequence case of forward_batch().
    void forward(ops::Context& ctx, const std::vector<int32_t>& tokens, int n_past, KvCache& cache,
                 LogitsFor which, std::vector<float>& logits) const;

    // Continuous batching: runs the tokens of several sequences in one pass. Every matmul goes
    // over all rows together (each weight is read once per step: decode is bandwidth-bound);
    // attention runs per sequence against its own cache. Fills logits with n_vocab floats for the
    // last token of each sequence, in order ([seqs.size()][n_vocab]). Caches must be distinct.
    void forward_batch(ops::Context& ctx, std::span<const SequenceBatch> seqs, std::vector<float>& logits) const;

    // Embeddings: the same pass, but it stops before the output matrix (the largest one) and
    // fills `hidden` with the final hidden state (after the output norm) of every token of every
    // sequence, back to back ([total tokens][n_embd]). Pooling is the engine's (engine/embed.h).
    void hidden_states(ops::Context& ctx, std::span<const SequenceBatch> seqs, std::vector<float>& hidden) const;

private:
    enum class Output { Logits, Hidden };
    // The pass itself: rows are the sequences' tokens back to back; for `out_rows`, logits or
    // the normed hidden states.
    void run(ops::Context& ctx, std::span<const SequenceBatch> seqs, const std::vector<int64_t>& out_rows,
             Output what, std::vector<float>& out) const;

    // The blocks of one layer, in the order they run (forward.cpp, moe.cpp). Both read h/x of
    // `rs` ([T][n_embd]) and add their output to the residual x.
    void attention_block(ops::Context& ctx, int il, std::span<const SequenceBatch> seqs,
                         const std::vector<int64_t>& first_row, const ops::RopeParams& rope, RunState& rs,
                         int64_t T) const;
    // The recurrent layers of hybrids (delta_net.cpp): the gated delta-net in place of attention,
    // advancing each sequence's recurrent state.
    void delta_net_block(ops::Context& ctx, int il, std::span<const SequenceBatch> seqs,
                         const std::vector<int64_t>& first_row, RunState& rs, int64_t T) const;
    void ffn_block(ops::Context& ctx, int il, RunState& rs, int64_t T) const;
    // Per-layer embeddings (gemma4): each token's input for every layer, from its own embedding
    // row and a projection of x (per_layer_input.cpp), and their mix into a layer's output.
    void per_layer_inputs(ops::Context& ctx, std::span<const SequenceBatch> seqs, RunState& rs, int64_t T) const;
    void per_layer_block(ops::Context& ctx, int il, RunState& rs, int64_t T) const;
    // The mixture of experts: rs.h ([T][n_embd], normed) → rs.moe_out.
    void moe_ffn(ops::Context& ctx, const LayerWeights& L, RunState& rs, int64_t T) const;

    std::shared_ptr<const gguf::File> file_;
    HParams hp_;
    ModelWeights w_;
};

}  // namespace hearth
