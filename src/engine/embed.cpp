#include "engine/embed.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "common/error.h"

namespace hearth {
namespace {

std::string architecture(const gguf::File& file) { return file.get_string("general.architecture").value_or(""); }

std::string pooling_key(const gguf::File& file) { return architecture(file) + ".pooling_type"; }

}  // namespace

Pooling model_pooling(const gguf::File& file) {
    const std::string key = pooling_key(file);
    const std::optional<uint64_t> value = file.get_u64(key);
    if (!value) return Pooling::Mean;
    switch (*value) {
        case 0: return Pooling::Mean;  // "none" is one vector per token; an API that returns one per input pools
        case 1: return Pooling::Mean;
        case 2: return Pooling::Cls;
        case 3: return Pooling::Last;
        case 4: return Pooling::Rank;
        default:
            fail("{}: {} is {}; expected 0 (none), 1 (mean), 2 (cls), 3 (last) or 4 (rank)", file.path(), key, *value);
    }
}

const char* pooling_name(Pooling pooling) {
    switch (pooling) {
        case Pooling::Mean: return "mean";
        case Pooling::Cls: return "cls";
        case Pooling::Last: return "last";
        case Pooling::Rank: return "rank";
    }
    return "?";
}

std::string describe_pooling(const gguf::File& file) {
    try {
        const Pooling p = model_pooling(file);
        const std::optional<uint64_t> value = file.get_u64(pooling_key(file));
        if (!value || *value == 0) return fmt::format("{} (default: the file names none)", pooling_name(p));
        return pooling_name(p);
    } catch (const Error& e) {
        return fmt::format("invalid: {}", e.what());
    }
}

void pool_hidden_states(std::span<const float> hidden, int64_t n_tokens, int64_t dim, Pooling pooling, float* out) {
    if (n_tokens <= 0 || static_cast<int64_t>(hidden.size()) < n_tokens * dim)
        fail("pooling: {} hidden states of width {} do not fit in {} floats", n_tokens, dim, hidden.size());
    switch (pooling) {
        case Pooling::Cls: std::copy_n(hidden.data(), dim, out); return;
        case Pooling::Last: std::copy_n(hidden.data() + (n_tokens - 1) * dim, dim, out); return;
        case Pooling::Mean: {
            // Summed in double: a long input's mean should not depend on its length's rounding.
            std::vector<double> sum(static_cast<size_t>(dim), 0.0);
            for (int64_t t = 0; t < n_tokens; ++t)
                for (int64_t i = 0; i < dim; ++i) sum[i] += hidden[t * dim + i];
            for (int64_t i = 0; i < dim; ++i) out[i] = static_cast<float>(sum[i] / static_cast<double>(n_tokens));
            return;
        }
        case Pooling::Rank: fail("pooling: rank pooling needs a reranker's classifier head");
    }
}

void l2_normalize(std::span<float> x) {
    double sum = 0;
    for (float v : x) sum += static_cast<double>(v) * v;
    if (sum <= 0) return;
    const auto scale = static_cast<float>(1.0 / std::sqrt(sum));
    for (float& v : x) v *= scale;
}

Embedder::Embedder(const Model& model, const EmbedOptions& options)
    : model_(model),
      options_(options),
      pooling_(model_pooling(model.file())),
      n_ctx_(resolve_context_size(model.hparams(), options.n_ctx)),
      pool_(options.n_threads == 0 ? ThreadPool::default_threads() : std::max(options.n_threads, 1)) {
    if (options_.n_threads < 0) fail("-t/--threads must be positive (got {})", options_.n_threads);
    if (options_.n_batch <= 0) fail("-b/--batch-size must be positive (got {})", options_.n_batch);
    if (pooling_ == Pooling::Rank)
        fail("{}: {} is 4 (rank): a reranker's scores need its classifier head, which hearth does not run",
             model.file().path(), pooling_key(model.file()));
    const std::string causal_key = architecture(model.file()) + ".attention.causal";
    if (model.file().get_bool(causal_key) == false)
        fail("{}: {} is false: bidirectional (encoder) attention is not supported; hearth embeds with decoder "
             "models (causal attention)",
             model.file().path(), causal_key);
    ctx_.pool = &pool_;
}

void Embedder::fit_to_context(std::vector<TokenId>& tokens, size_t index, bool truncate) const {
    if (tokens.empty()) fail("input {} is empty: there is nothing to embed", index);
    if (static_cast<int64_t>(tokens.size()) <= n_ctx_) return;
    if (!truncate)
        fail("input {} has {} tokens, more than the context of {}", index, tokens.size(), n_ctx_);
    tokens.resize(static_cast<size_t>(n_ctx_));
}

Embeddings Embedder::embed(const std::vector<std::vector<TokenId>>& inputs, bool normalize) {
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].empty()) fail("input {} is empty: there is nothing to embed", i);
        if (static_cast<int64_t>(inputs[i].size()) > n_ctx_)
            fail("input {} has {} tokens, more than the context of {}", i, inputs[i].size(), n_ctx_);
    }
    Embeddings out;
    out.vectors.resize(inputs.size());
    const auto n_batch = static_cast<size_t>(options_.n_batch);
    size_t next = 0;
    while (next < inputs.size()) {
        if (inputs[next].size() > n_batch) {
            embed_alone(inputs[next], out.vectors[next], out);
            ++next;
            continue;
        }
        size_t last = next, tokens = 0;
        while (last < inputs.size() && tokens + inputs[last].size() <= n_batch) tokens += inputs[last++].size();
        embed_together(inputs, next, last, out);
        next = last;
    }
    if (normalize)
        for (std::vector<float>& v : out.vectors) l2_normalize(v);
    return out;
}

void Embedder::embed_together(const std::vector<std::vector<TokenId>>& inputs, size_t first, size_t last,
                              Embeddings& out) {
    // Each sequence attends over its own cache, sized to it: the pass never reuses them, so
    // nothing of one request reaches another.
    std::vector<KvCache> caches;
    caches.reserve(last - first);
    std::vector<SequenceBatch> seqs;
    for (size_t i = first; i < last; ++i) {
        caches.emplace_back(model_.hparams(), static_cast<int>(inputs[i].size()), options_.kv_type);
        seqs.push_back({std::span<const TokenId>(inputs[i]), 0, &caches.back()});
    }
    model_.hidden_states(ctx_, seqs, hidden_);
    ++out.forward_passes;
    const int64_t E = dim();
    int64_t row = 0;
    for (size_t i = first; i < last; ++i) {
        const auto n = static_cast<int64_t>(inputs[i].size());
        pool_into(std::span<const float>(hidden_).subspan(static_cast<size_t>(row * E)), n, out.vectors[i]);
        row += n;
        out.n_tokens += n;
    }
}

void Embedder::embed_alone(const std::vector<TokenId>& input, std::vector<float>& vector, Embeddings& out) {
    KvCache cache(model_.hparams(), static_cast<int>(input.size()), options_.kv_type);
    std::vector<float> all;  // [input tokens][dim]: mean pooling reads every row
    all.reserve(input.size() * static_cast<size_t>(dim()));
    for (size_t start = 0; start < input.size(); start += static_cast<size_t>(options_.n_batch)) {
        const size_t end = std::min(input.size(), start + static_cast<size_t>(options_.n_batch));
        SequenceBatch seq{std::span<const TokenId>(input).subspan(start, end - start), static_cast<int>(start), &cache};
        model_.hidden_states(ctx_, std::span<const SequenceBatch>(&seq, 1), hidden_);
        ++out.forward_passes;
        all.insert(all.end(), hidden_.begin(), hidden_.end());
    }
    pool_into(all, static_cast<int64_t>(input.size()), vector);
    out.n_tokens += static_cast<int64_t>(input.size());
}

void Embedder::pool_into(std::span<const float> hidden, int64_t n_tokens, std::vector<float>& vector) const {
    vector.resize(static_cast<size_t>(dim()));
    pool_hidden_states(hidden, n_tokens, dim(), pooling_, vector.data());
}

}  // namespace hearth
