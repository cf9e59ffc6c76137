#pragma once
// What `hearth list` and `hearth show` say about a GGUF: read from its metadata and tensor
// directory only (the weights are mapped, never read).
#include <cstdint>
#include <string>

namespace hearth::library {

struct ModelFacts {
    std::string architecture;   // general.architecture
    uint64_t parameters = 0;    // elements over all tensors
    uint64_t context_length = 0;  // <arch>.context_length, 0 when absent
    uint64_t embedding_length = 0;
    std::string quantization;   // gguf::quantization_label (general.file_type, else the biggest type)
    std::string chat_template;  // tokenizer.chat_template, "" when absent
    std::string license;        // general.license, "" when absent
};

// Throws hearth::Error when the file is not a valid GGUF.
ModelFacts read_model_facts(const std::string& path);
// "360.8M", "1.24B".
std::string human_parameters(uint64_t n);

}  // namespace hearth::library
