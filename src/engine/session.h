#pragma once
// A session: one sequence's KV cache over a loaded model, the threads that compute it, and the
// position reached so far. Front-ends evaluate prompts and generate through this.
#include <memory>
#include <vector>

#include "common/thread_pool.h"
#include "model/memory.h"
#include "model/model.h"

namespace hearth {

struct SessionOptions {
    int n_ctx = 0;                        // 0: the model's context length capped at kDefaultMaxCtx
    ops::KvType kv_type = ops::KvType::F16;
    int n_threads = 0;                    // 0: all hardware threads
    int n_batch = 512;                    // prompt tokens per forward pass

    static constexpr int kDefaultMaxCtx = kDefaultMaxContext;
};

class Session {
public:
    // Validates options against the model (throws hearth::Error naming the flag).
    Session(const Model& model, const SessionOptions& options);

    const Model& model() const { return model_; }
    int n_ctx() const { return cache_.n_ctx(); }
    int n_past() const { return n_past_; }
    int n_threads() const { return pool_.size(); }
    const KvCache& cache() const { return cache_; }
    // What this session allocated: the KV cache as allocated, and the compute buffers sized by
    // the same memory:: functions `hearth fit` predicts with.
    memory::SessionBytes memory() const;
    // Starts a new sequence (position 0, no recurrent state or checkpoints).
    void reset();
    // Forgets every position from `n_past` on, keeping the cached ones before it (a chat reuses
    // the prompt prefix it shares with the previous turn), and returns the position the session
    // is at now. That is n_past, except for models with recurrent layers: their state cannot be
    // cut back, so the session resumes from its latest checkpoint at or before n_past, or from
    // the start. Throws unless 0 <= n_past <= n_past().
    int rewind(int n_past);
    // Keeps a copy of the recurrent state at the current position for a later rewind (a chat
    // takes one after each reply; eval takes one after each prompt). No-op for transformers.
    void checkpoint() { cache_.checkpoint(); }

    // Appends `tokens` (in chunks of n_batch) and returns the logits of the last one
    // (n_vocab floats) or, with LogitsFor::All, of every one ([tokens][n_vocab]).
    // Throws when the tokens would not fit in the context.
    const std::vector<float>& eval(const std::vector<int32_t>& tokens, LogitsFor which = LogitsFor::Last);

private:
    const Model& model_;
    SessionOptions options_;
    ThreadPool pool_;
    KvCache cache_;
    ops::Context ctx_;
    int n_past_ = 0;
    std::vector<float> logits_, chunk_logits_;
};

}  // namespace hearth
