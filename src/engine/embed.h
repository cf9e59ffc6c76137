#pragma once
// Text embeddings from decoder models: each input's final hidden states (Model::hidden_states:
// after the output norm, the output matrix skipped), pooled into one vector and L2-normalised,
// as llama.cpp's llama-embedding and Ollama do.
//
//   Embedder embedder(*lm.model, {});
//   std::vector<std::vector<TokenId>> inputs = {tokenize_prompt(tok, "hello", true, true)};
//   embedder.fit_to_context(inputs[0], 0, /*truncate=*/false);   // throws when too long
//   Embeddings e = embedder.embed(inputs);                         // e.vectors[0]: dim floats
//
// Pooling is the model's `<arch>.pooling_type` (llama.cpp's enum: 0 none, 1 mean, 2 cls, 3 last,
// 4 rank). A file that names none — a plain chat model, or 0, which asks for one vector per
// token that these APIs cannot return — gets mean pooling. Qwen3-Embedding is `qwen3` with
// last-token pooling (its tokenizer adds EOS, whose state is the embedding).
//
// Attention is causal, as in every family hearth runs; a file that asks for bidirectional
// attention (`<arch>.attention.causal` = false: BERT-like encoders) is refused.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "tokenizer/vocabulary.h"

namespace hearth {

enum class Pooling { Mean, Cls, Last, Rank };

// The pooling a model's embeddings use (the rule above: the one place that decides it). Throws
// hearth::Error naming the key for a value outside llama.cpp's enum.
Pooling model_pooling(const gguf::File& file);
const char* pooling_name(Pooling pooling);  // "mean", "cls", "last", "rank"
// For `hearth show` and /api/show: the name, with "(default: the file names none)" when the
// rule chose mean; never throws ("invalid: ..." for a bad value).
std::string describe_pooling(const gguf::File& file);

// Pools hidden states ([n_tokens][dim], n_tokens > 0) into out[dim]: their mean, the first
// token's (cls) or the last token's.
void pool_hidden_states(std::span<const float> hidden, int64_t n_tokens, int64_t dim, Pooling pooling, float* out);
// x ← x / ‖x‖₂; a zero vector stays zero.
void l2_normalize(std::span<float> x);

struct EmbedOptions {
    int n_ctx = 0;           // most tokens per input; 0: the model's context capped as for a Session
    int n_batch = 512;       // tokens per forward pass: short inputs share one, a longer one runs in chunks
    int n_threads = 0;       // 0: all hardware threads
    ops::KvType kv_type = ops::KvType::F16;
};

struct Embeddings {
    std::vector<std::vector<float>> vectors;  // one per input, dim() floats each
    int64_t n_tokens = 0;                      // tokens evaluated, all inputs together
    int forward_passes = 0;                    // how many passes they took (batching shows here)
};

// Owns its threads and, per call, one small KV cache per input (sized to that input), so it
// shares nothing with Sessions or a BatchScheduler over the same (read-only) Model. One embed()
// at a time per Embedder.
class Embedder {
public:
    // Throws hearth::Error for rank pooling (rerankers need a classifier head hearth does not
    // run), bidirectional attention, or bad options (naming the flag).
    Embedder(const Model& model, const EmbedOptions& options);

    Pooling pooling() const { return pooling_; }
    int dim() const { return model_.hparams().n_embd; }
    int n_ctx() const { return n_ctx_; }

    // Makes input `index` fit: longer than n_ctx tokens, it is cut to its first n_ctx when
    // `truncate`, otherwise an error names the input and both lengths. Empty: an error. Never silent.
    void fit_to_context(std::vector<TokenId>& tokens, size_t index, bool truncate) const;
    // Embeds every input (each non-empty and at most n_ctx tokens, else throws): consecutive
    // inputs share a forward pass while their tokens fit in n_batch. `normalize`: L2-normalise
    // each pooled vector (Ollama's legacy /api/embeddings is the one caller that does not).
    Embeddings embed(const std::vector<std::vector<TokenId>>& inputs, bool normalize = true);

private:
    // Inputs [first, last), together in one pass (their tokens fit in n_batch).
    void embed_together(const std::vector<std::vector<TokenId>>& inputs, size_t first, size_t last, Embeddings& out);
    // One input longer than n_batch: its own cache, chunk after chunk.
    void embed_alone(const std::vector<TokenId>& input, std::vector<float>& vector, Embeddings& out);
    void pool_into(std::span<const float> hidden, int64_t n_tokens, std::vector<float>& vector) const;


    const Model& model_;
    EmbedOptions options_;
    Pooling pooling_;
    int n_ctx_;
    ThreadPool pool_;
    ops::Context ctx_;
    std::vector<float> hidden_;
};

}  // namespace hearth
