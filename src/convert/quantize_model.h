#pragma once
// Model quantization: an F32/F16/BF16 GGUF → the same model with its weight matrices in a
// quantization mix (quant_mix.h), metadata copied (general.file_type updated), tensor order
// kept, 1-D tensors unchanged. Rows are converted in parallel; the output streams one tensor
// at a time through a temporary file and a rename.
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"

#include "convert/model_output.h"
#include "convert/quant_mix.h"

namespace hearth::convert {

struct QuantizeOptions {
    const QuantMix* mix = nullptr;  // required
    bool pure = false;              // every weight matrix the mix's base type
    int n_threads = 0;              // 0: one per physical core
    ProgressFn progress;
};

struct QuantizeResult {
    uint64_t input_tensor_bytes = 0;
    uint64_t output_tensor_bytes = 0;
    uint64_t n_params = 0;
    size_t n_tensors = 0;
    std::string type_summary;
};

// The type each tensor of `file` gets, in file order (what --dry-run prints). 1-D tensors and
// other non-weights keep their type.
struct PlannedTensor {
    const gguf::TensorInfo* source;
    TensorType type;
};
std::vector<PlannedTensor> plan_quantization(const gguf::File& file, const QuantMix& mix, bool pure);

// Throws hearth::Error naming the file, tensor and type for anything it cannot do (quantized
// input, unsupported types); nothing is written then.
QuantizeResult quantize_model(const std::string& input, const std::string& output, const QuantizeOptions& options);

}  // namespace hearth::convert
