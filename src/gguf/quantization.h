#pragma once
// The quantization label of a GGUF file ("Q4_K_M", "Q8_0", "F16"): what `hearth list`, `hearth show`
// and the server's /api/show and /api/tags report. One function so that they can never disagree.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::gguf {

class File;

// llama.cpp's name for a general.file_type value (its LLAMA_FTYPE_* numbering), or nullptr for a
// value it does not define (the retired 4..6 and 33..35 included).
const char* file_type_name(uint64_t file_type);
// The reverse: the general.file_type value of a name ("Q4_K_M" → 15), or nullopt.
std::optional<uint64_t> file_type_value(std::string_view name);

// general.file_type's name when the file has a known one; otherwise the tensor type holding the
// most bytes among the matrices (tensors with 2 or more dimensions, as the norms and biases are
// F32 whatever the quantization); "unknown" for a file with no matrices.
std::string quantization_label(const File& file);

}  // namespace hearth::gguf
