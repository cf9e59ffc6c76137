#include "serve/served_model.h"

#include <malloc.h>
#include <thread>

#include "common/error.h"
#include "engine/grammar_constraint.h"
#include "fit/hardware.h"
#include "fit/plan.h"
#include "fit/weights.h"
#include "gguf/gguf.h"
#include "model/memory.h"

namespace hearth::serve {

ServedModel::ServedModel(ModelSpec spec_in, LoadedModel model, const SchedulerOptions& scheduler_options)
    : spec(std::move(spec_in)), loaded(std::move(model)) {
    if (!loaded.model || !loaded.tokenizer) fail("serve: the model {} was not fully loaded", spec.name);
    chat_format = std::make_unique<ChatFormat>(spec.chat_template.empty()
                                                   ? ChatFormat::for_model(*loaded.file, *loaded.tokenizer)
                                                   : ChatFormat::with_template(spec.chat_template, *loaded.tokenizer));
    tool_family = chat::detect_tool_call_family(chat_format->tmpl.source());
    scheduler = std::make_unique<BatchScheduler>(*loaded.model, *loaded.tokenizer, scheduler_options);
}

ServedModel::~ServedModel() {
    embedder.reset();
    scheduler.reset();  // stops its thread before the weights it reads go away
    vocab_.reset();
    loaded = LoadedModel{};
    // The KV caches and buffers just freed stay in malloc's arenas otherwise: hand them back, so
    // an unloaded model's memory is the system's again (the budget assumes so).
    malloc_trim(0);
}

std::shared_ptr<const grammar::VocabTrie> ServedModel::vocab_trie() {
    std::call_once(vocab_once_, [&] { vocab_ = make_vocab_trie(*loaded.tokenizer, loaded.model->hparams().n_vocab); });
    return vocab_;
}

uint64_t serving_memory_need(const std::string& gguf_path, const SchedulerOptions& options) {
    const auto file = gguf::File::open(gguf_path);
    const fit::WeightLayout w = fit::layout_from_file(*file);
    fit::Machine cpu;  // the CPU alone: the server runs there
    cpu.cpu_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    cpu.ram_bytes = cpu.ram_usable_bytes = UINT64_MAX / 4;
    fit::FitOptions o;
    o.n_ctx = options.n_ctx;
    o.parallel = options.n_slots;
    o.kv_type = &memory::kv_type_traits(options.kv_type);
    o.n_batch = options.n_batch;
    o.n_threads = options.n_threads;
    const fit::Breakdown b = fit::fit_model(w, cpu, o).breakdown;
    return b.total() - std::min(b.total(), fit::kRuntimeBaseBytes);
}

uint64_t default_memory_budget() {
    const fit::Machine m = fit::detect_machine();
    return m.ram_usable_bytes / 100 * (100 - kMemoryHeadroomPercent);
}

}  // namespace hearth::serve
