#include "serve/model_info.h"

#include <fmt/format.h>

#include "engine/embed.h"
#include "gguf/quantization.h"
#include "serve/format.h"

namespace hearth::serve {
namespace {

using ordered_json = nlohmann::ordered_json;

std::string human_count(uint64_t n) {
    if (n >= 1000000000) return fmt::format("{:.1f}B", n / 1e9);
    if (n >= 1000000) return fmt::format("{:.1f}M", n / 1e6);
    if (n >= 1000) return fmt::format("{:.1f}K", n / 1e3);
    return std::to_string(n);
}

}  // namespace

ordered_json model_details(const gguf::File& f) {
    uint64_t n_params = 0;
    for (const auto& t : f.tensors()) n_params += t.n_elements;
    const std::string arch = f.get_string("general.architecture").value_or("unknown");
    return {{"parent_model", ""},
            {"format", "gguf"},
            {"family", arch},
            {"families", ordered_json::array({arch})},
            {"parameter_size", human_count(n_params)},
            {"quantization_level", gguf::quantization_label(f)}};
}

ordered_json show_body(const gguf::File& f, const std::string& template_source) {
    ordered_json info = ordered_json::object();
    for (const auto& kv : f.metadata()) {
        if (kv.key.rfind("tokenizer.", 0) == 0) continue;  // large arrays; Ollama leaves them out too
        const gguf::Value& v = kv.value;
        if (v.type == gguf::ValueType::STRING) info[kv.key] = v.str;
        else if (v.type == gguf::ValueType::BOOL) info[kv.key] = v.bits != 0;
        else if (v.is_float()) info[kv.key] = v.real;
        else if (v.is_integer()) {
            const bool is_signed = v.type == gguf::ValueType::I8 || v.type == gguf::ValueType::I16 ||
                                   v.type == gguf::ValueType::I32 || v.type == gguf::ValueType::I64;
            if (is_signed) info[kv.key] = static_cast<int64_t>(v.bits);
            else info[kv.key] = v.bits;
        }
    }
    // Ollama clients read "tools" here before they send tools.
    ordered_json capabilities = ordered_json::array({"completion"});
    if (template_source.find("tools") != std::string::npos) capabilities.push_back("tools");
    return {{"modelfile", ""},
            {"parameters", ""},
            {"template", template_source},
            {"details", model_details(f)},
            {"model_info", info},
            {"capabilities", capabilities},
            {"embedding_pooling", describe_pooling(f)},
            {"modified_at", rfc3339_now()}};
}

std::string bare_digest(const std::string& digest) {
    return digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest;
}

std::string weights_digest(const std::string& library_digest, const std::string& path) {
    if (!library_digest.empty()) return library_digest;
    return fmt::format("{:064x}", std::hash<std::string>{}(path));
}

}  // namespace hearth::serve
