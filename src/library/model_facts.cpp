#include "library/model_facts.h"

#include <fmt/format.h>

#include "gguf/gguf.h"
#include "gguf/quantization.h"

namespace hearth::library {

std::string human_parameters(uint64_t n) {
    if (n >= 1000000000ull) return fmt::format("{:.2f}B", n / 1e9);
    if (n >= 1000000ull) return fmt::format("{:.1f}M", n / 1e6);
    if (n >= 1000ull) return fmt::format("{:.1f}K", n / 1e3);
    return std::to_string(n);
}

ModelFacts read_model_facts(const std::string& path) {
    auto file = gguf::File::open(path);
    ModelFacts f;
    f.architecture = file->get_string("general.architecture").value_or("");
    for (const auto& t : file->tensors()) f.parameters += static_cast<uint64_t>(t.n_elements);
    if (!f.architecture.empty()) {
        f.context_length = file->get_u64(f.architecture + ".context_length").value_or(0);
        f.embedding_length = file->get_u64(f.architecture + ".embedding_length").value_or(0);
    }
    f.quantization = gguf::quantization_label(*file);
    f.chat_template = file->get_string("tokenizer.chat_template").value_or("");
    f.license = file->get_string("general.license").value_or("");
    return f;
}

}  // namespace hearth::library
