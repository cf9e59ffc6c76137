// The embedding routes' work: inputs -> tokens -> Embedder -> response body.
//
// Why not through the BatchScheduler: its slots hold long-lived KV caches sized for generation
// and its step loop samples tokens; an embedding needs neither, and mixing the two would make
// every generation step wait for a whole (possibly 2048-input) embedding batch. So embeddings
// run on the request's own thread with their own Embedder: its own thread pool, and fresh KV
// caches per request sized to the inputs, over the shared weights (read-only; the forward
// pass's scratch is per thread). Nothing the scheduler owns is touched, so generation can
// neither be corrupted nor blocked; the two only share the CPU while both run. A mutex lets
// one embedding request run at a time (others wait on it), which bounds the memory to one
// batch of activations and caches.
#include <chrono>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/prompt.h"
#include "serve/server.h"

namespace hearth::serve {

nlohmann::ordered_json Server::embed(ServedModel& model, const EmbedRequest& request) {
    const auto t0 = std::chrono::steady_clock::now();
    EmbedReply reply;
    reply.model = model.spec.name;
    if (stopping_) throw ApiError(503, "the server is shutting down", "server_error", "shutting_down");

    std::lock_guard<std::mutex> lock(model.embed_mutex);
    std::unique_ptr<Embedder>& embedder = model.embedder;
    if (!embedder) {
        EmbedOptions o;
        o.n_ctx = model.scheduler->n_ctx();
        o.n_batch = options_.scheduler.n_batch;
        o.n_threads = options_.scheduler.n_threads;
        o.kv_type = options_.scheduler.kv_type;
        try {
            embedder = std::make_unique<Embedder>(*model.loaded.model, o);
        } catch (const Error& e) {  // a reranker, an encoder: this model cannot embed
            throw ApiError(400, e.what(), "invalid_request_error", "embeddings_not_supported");
        }
    }
    if (request.dimensions && *request.dimensions != embedder->dim())
        throw ApiError(400,
                       fmt::format("'dimensions' is {}, but this model's embeddings have {} (they cannot be shortened)",
                                   *request.dimensions, embedder->dim()));

    const Tokenizer& tok = *model.loaded.tokenizer;
    const int n_vocab = model.loaded.model->hparams().n_vocab;
    std::vector<std::vector<TokenId>> inputs;
    inputs.reserve(request.inputs.size());
    for (size_t i = 0; i < request.inputs.size(); ++i) {
        const EmbedInput& in = request.inputs[i];
        if (in.is_tokens) {
            for (int32_t t : in.tokens)
                if (t >= n_vocab)
                    throw ApiError(400, fmt::format("input {}: token id {} is out of range (the vocabulary has {} "
                                                    "tokens)",
                                                    i, t, n_vocab));
            inputs.push_back(in.tokens);
        } else {
            // As a raw completion prompt: BOS/EOS as the vocabulary asks (Qwen3-Embedding's EOS
            // is the token last pooling reads), special-token text parsed unless --no-parse-special.
            inputs.push_back(tokenize_prompt(tok, in.text, /*add_special=*/true, options_.parse_special));
        }
        try {
            embedder->fit_to_context(inputs.back(), i, request.truncate);
        } catch (const Error& e) {
            throw ApiError(400,
                           fmt::format("{} (\"truncate\": true embeds its first {} tokens)", e.what(),
                                       embedder->n_ctx()),
                           "invalid_request_error", "context_length_exceeded");
        }
    }
    Embeddings e = embedder->embed(inputs, /*normalize=*/request.api != EmbedApi::OllamaEmbeddings);
    reply.vectors = std::move(e.vectors);
    reply.n_tokens = e.n_tokens;
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    reply.total_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
    return embed_response(request, reply);
}

}  // namespace hearth::serve
