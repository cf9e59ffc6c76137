#include "library/model_facts.h"

#include <map>

#include <fmt/format.h>

#include "gguf/gguf.h"

namespace hearth::library {
namespace {

// llama.cpp's general.file_type numbering (the "mostly" type of a file).
const char* file_type_name(uint64_t t) {
    static const std::map<uint64_t, const char*> names = {
        {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},    {8, "Q5_0"},
        {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"},
        {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"},
        {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"}, {24, "IQ1_S"}, {25, "IQ4_NL"}, {26, "IQ3_S"},
        {27, "IQ3_M"},  {28, "IQ2_S"},  {29, "IQ2_M"},  {30, "IQ4_XS"}, {31, "IQ1_M"},  {32, "BF16"},
    };
    auto it = names.find(t);
    return it == names.end() ? nullptr : it->second;
}

}  // namespace

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
    std::map<std::string, uint64_t> bytes_by_type;
    for (const auto& t : file->tensors()) {
        f.parameters += static_cast<uint64_t>(t.n_elements);
        if (t.dims.size() >= 2) bytes_by_type[t.traits->name] += t.n_bytes;
    }
    if (!f.architecture.empty()) {
        f.context_length = file->get_u64(f.architecture + ".context_length").value_or(0);
        f.embedding_length = file->get_u64(f.architecture + ".embedding_length").value_or(0);
    }
    if (auto ft = file->get_u64("general.file_type"); ft && file_type_name(*ft)) f.quantization = file_type_name(*ft);
    if (f.quantization.empty()) {
        uint64_t best = 0;
        for (const auto& [name, b] : bytes_by_type)
            if (b > best) best = b, f.quantization = name;
    }
    f.chat_template = file->get_string("tokenizer.chat_template").value_or("");
    f.license = file->get_string("general.license").value_or("");
    return f;
}

}  // namespace hearth::library
