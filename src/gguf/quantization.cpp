#include "gguf/quantization.h"

#include <map>

#include "common/error.h"
#include "gguf/gguf.h"

namespace hearth::gguf {

namespace {

const std::map<uint64_t, const char*>& file_type_names() {
    static const std::map<uint64_t, const char*> names = {
        {0, "F32"},      {1, "F16"},     {2, "Q4_0"},     {3, "Q4_1"},     {7, "Q8_0"},    {8, "Q5_0"},
        {9, "Q5_1"},     {10, "Q2_K"},   {11, "Q3_K_S"},  {12, "Q3_K_M"},  {13, "Q3_K_L"}, {14, "Q4_K_S"},
        {15, "Q4_K_M"},  {16, "Q5_K_S"}, {17, "Q5_K_M"},  {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"},
        {21, "Q2_K_S"},  {22, "IQ3_XS"}, {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"}, {26, "IQ3_S"},
        {27, "IQ3_M"},   {28, "IQ2_S"},  {29, "IQ2_M"},   {30, "IQ4_XS"},  {31, "IQ1_M"},  {32, "BF16"},
        {36, "TQ1_0"},   {37, "TQ2_0"},  {38, "MXFP4_MOE"},
    };
    return names;
}

}  // namespace

const char* file_type_name(uint64_t file_type) {
    auto it = file_type_names().find(file_type);
    return it == file_type_names().end() ? nullptr : it->second;
}

std::optional<uint64_t> file_type_value(std::string_view name) {
    for (const auto& [value, n] : file_type_names())
        if (name == n) return value;
    return std::nullopt;
}

std::string quantization_label(const File& file) {
    // A wrong-typed general.file_type is ignored rather than fatal: the label is informational.
    try {
        if (auto ft = file.get_u64("general.file_type"))
            if (const char* name = file_type_name(*ft)) return name;
    } catch (const Error&) {
    }
    std::map<std::string, uint64_t> bytes_by_type;
    for (const auto& t : file.tensors())
        if (t.dims.size() >= 2) bytes_by_type[t.traits->name] += t.n_bytes;
    std::string label = "unknown";
    uint64_t most = 0;
    for (const auto& [name, bytes] : bytes_by_type)
        if (bytes > most) most = bytes, label = name;
    return label;
}

}  // namespace hearth::gguf
