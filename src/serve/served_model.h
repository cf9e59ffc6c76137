#pragma once
// One model as `hearth serve` holds it: the loaded weights and tokenizer, its chat format and
// tool-call family, the BatchScheduler that generates with it, the vocabulary trie for
// constrained replies and the Embedder for the embedding routes. The model registry
// (serve/model_registry.h) makes, keeps and drops these; route handlers use one per request.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "chat/tool_calls.h"
#include "engine/batch_scheduler.h"
#include "engine/chat_session.h"
#include "engine/embed.h"
#include "engine/loader.h"
#include "grammar/token_constraint.h"

namespace hearth::serve {

// What the server knows of a model before loading it.
struct ModelSpec {
    std::string name;           // as clients name it and responses carry it ("stories:latest", an alias)
    std::string path;           // the GGUF
    std::string chat_template;  // Jinja2 source to use instead of the model's ("": the model's)
    std::string digest;         // "sha256:<hex>" of the weights, or a stand-in for a file outside the library
};

struct ServedModel {
    // Loads nothing itself: takes the loaded model; makes the chat format and starts the scheduler.
    ServedModel(ModelSpec spec, LoadedModel model, const SchedulerOptions& scheduler_options);
    ~ServedModel();
    ServedModel(const ServedModel&) = delete;
    ServedModel& operator=(const ServedModel&) = delete;

    const ModelSpec spec;
    LoadedModel loaded;
    std::unique_ptr<ChatFormat> chat_format;
    chat::ToolCallFamily tool_family = chat::ToolCallFamily::None;  // how the template's model writes calls
    std::unique_ptr<BatchScheduler> scheduler;

    // The vocabulary as a trie for grammar-constrained replies, built on the first such request.
    std::shared_ptr<const grammar::VocabTrie> vocab_trie();

    // Embeddings run beside the scheduler with their own Embedder (made on the first embedding
    // request), one request at a time: serve/embed_route.cpp says why.
    std::mutex embed_mutex;
    std::unique_ptr<Embedder> embedder;

private:
    std::once_flag vocab_once_;
    std::shared_ptr<const grammar::VocabTrie> vocab_;
};

// Bytes the model needs loaded with these scheduler options, by `hearth fit`'s accounting
// (weights + the KV caches of all slots + compute buffers + tokenizer and other overhead),
// less the process's own base, which the server pays once. Reads the GGUF's header only.
uint64_t serving_memory_need(const std::string& gguf_path, const SchedulerOptions& options);

// The default --max-memory: the RAM `hearth fit` counts as usable on this machine (available
// now) less a headroom of kMemoryHeadroomPercent for everything else that runs beside it.
inline constexpr int kMemoryHeadroomPercent = 10;
uint64_t default_memory_budget();

}  // namespace hearth::serve
