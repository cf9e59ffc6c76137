#include "engine/session.h"

#include <algorithm>

#include "common/error.h"

namespace hearth {

static int checked_threads(int n) {
    if (n < 0) fail("-t/--threads must be positive (got {})", n);
    if (n > 1024) fail("-t/--threads {} is more than 1024", n);
    return n == 0 ? ThreadPool::default_threads() : n;
}

Session::Session(const Model& model, const SessionOptions& options)
    : model_(model),
      options_(options),
      pool_(checked_threads(options.n_threads)),
      cache_(model.hparams(), resolve_context_size(model.hparams(), options.n_ctx), options.kv_type) {
    if (options_.n_batch <= 0) fail("-b/--batch-size must be positive (got {})", options_.n_batch);
    ctx_.pool = &pool_;
}

memory::SessionBytes Session::memory() const {
    memory::SessionBytes b = memory::session_bytes(model_.hparams(), n_ctx(), options_.n_batch,
                                                   memory::kv_type_traits(options_.kv_type), n_threads());
    b.kv_cache = cache_.bytes();
    return b;
}

void Session::reset() {
    n_past_ = 0;
    cache_.reset();
}

int Session::rewind(int n_past) {
    if (n_past < 0 || n_past > n_past_) fail("cannot rewind the session to position {} (at {})", n_past, n_past_);
    n_past_ = cache_.rewind_to(n_past);
    return n_past_;
}

const std::vector<float>& Session::eval(const std::vector<int32_t>& tokens, LogitsFor which) {
    if (tokens.empty()) fail("nothing to evaluate: empty token list");
    if (n_past_ + static_cast<int64_t>(tokens.size()) > n_ctx())
        fail("{} tokens do not fit in the context: {} of {} positions are used (raise -c/--ctx-size)",
             tokens.size(), n_past_, n_ctx());
    const size_t n_vocab = static_cast<size_t>(model_.hparams().n_vocab);
    logits_.clear();
    if (which == LogitsFor::All) logits_.reserve(tokens.size() * n_vocab);
    for (size_t start = 0; start < tokens.size(); start += options_.n_batch) {
        size_t end = std::min(tokens.size(), start + static_cast<size_t>(options_.n_batch));
        std::vector<int32_t> chunk(tokens.begin() + start, tokens.begin() + end);
        bool last_chunk = end == tokens.size();
        // Intermediate chunks of a Last request need no logits at all, but computing one row
        // is cheap next to the chunk itself and keeps forward() simple.
        model_.forward(ctx_, chunk, n_past_, cache_, which, chunk_logits_);
        n_past_ += static_cast<int>(chunk.size());
        if (which == LogitsFor::All) logits_.insert(logits_.end(), chunk_logits_.begin(), chunk_logits_.end());
        else if (last_chunk) logits_.swap(chunk_logits_);
    }
    // A prompt's end is where the next chat turn's prompt most likely diverges from this one.
    if (tokens.size() > 1) cache_.checkpoint();
    return logits_;
}

}  // namespace hearth
