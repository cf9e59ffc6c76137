#pragma once
// A loaded llama-family model: hyperparameters, weights viewed in place from the GGUF map,
// and the forward pass. No CPU details here: the math goes through ops/.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "ops/ops.h"

namespace hearth {

struct LayerWeights {
    std::vector<float> attn_norm;             // [n_embd]
    ops::Matrix wq, wk, wv, wo;               // [q_width × n_embd], [kv_width × n_embd] ×2, [n_embd × n_head·head_dim_v]
    std::vector<float> bq, bk, bv;            // optional biases (qwen2): [q_width], [kv_width], [v_width]
    std::vector<float> q_norm, k_norm;        // optional per-head RMSNorm weights (qwen3): [head_dim]
    std::vector<float> ffn_norm;              // [n_embd]
    ops::Matrix w_gate, w_up, w_down;         // [n_ff × n_embd] ×2, [n_embd × n_ff]
};

struct ModelWeights {
    ops::Matrix token_embd;                   // [n_vocab × n_embd]
    std::vector<float> output_norm;           // [n_embd]
    ops::Matrix output;                       // [n_vocab × n_embd]; token_embd when tied
    bool tied_output = false;
    std::vector<float> rope_freqs;            // optional llama3 frequency factors [n_rot / 2]
    std::vector<LayerWeights> layers;
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
    // Bytes of weights one generated token reads (every matrix once, plus one embedding row).
    size_t bytes_per_token() const;
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

private:
    // The pass itself: rows are the sequences' tokens back to back; logits for `out_rows`.
    void run(ops::Context& ctx, std::span<const SequenceBatch> seqs, const std::vector<int64_t>& out_rows,
             std::vector<float>& logits) const;

    std::shared_ptr<const gguf::File> file_;
    HParams hp_;
    ModelWeights w_;
};

}  // namespace hearth
