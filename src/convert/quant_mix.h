#pragma once
// Quantization mixes: the names llama-quantize accepts (Q4_K_M, Q4_0, F16, …) and the rule
// that picks each tensor's type from its role and layer — token embedding, output head,
// attention V, FFN down and so on. One rule table serves `hearth quantize` and `hearth synth`,
// so a synthetic Q4_K_M file has the per-tensor types a real llama-quantize Q4_K_M has.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tensor/types.h"

namespace hearth::convert {

struct QuantMix {
    std::string_view name;         // "Q4_K_M", as llama-quantize spells it
    TensorType base;               // the type of a 2-D weight no rule promotes
    std::string_view description;
    // Expert stacks (tensors named "*_exps*") get this type instead of the rules' (MXFP4 for the
    // MXFP4 mix, as llama-quantize's MXFP4_MOE); unset: experts follow the rules like the rest.
    std::optional<TensorType> experts = std::nullopt;
    std::string_view file_type_name = {};  // llama.cpp's name for the file type when not `name`

    // llama.cpp's LLAMA_FTYPE_* value for general.file_type, from gguf/quantization.h's table
    // (the one place that numbering lives).
    uint32_t file_type() const;
};

// Every mix hearth can produce, in the order --help lists them.
std::span<const QuantMix> quant_mixes();
// "F32, F16, BF16, Q8_0, …" for messages and --help.
std::string quant_mix_names();
// The list of mixes with a line each, and how the rules and fallbacks work, for --help.
std::string quant_mix_help();
// Case-insensitive; accepts llama-quantize's aliases (Q4_K = Q4_K_M, Q3_K = Q3_K_M,
// Q5_K = Q5_K_M, MXFP4_MOE = MXFP4). Throws hearth::Error listing the valid names.
const QuantMix& find_quant_mix(std::string_view name);

// What a tensor does for the mix rules, from its GGUF name via the architecture manifest
// (model/arch.h); tensors no family lists are Other.
enum class TensorRole { TokenEmbd, Output, AttnQ, AttnK, AttnV, AttnOutput, FfnGate, FfnUp, FfnDown, Other };
TensorRole tensor_role(std::string_view name);
// The N of "blk.N.…", or -1.
int tensor_layer(std::string_view name);

// Whether a tensor is a weight matrix that gets the mix's types: at least 2-D, named
// "….weight", and not a norm. 1-D tensors (norms, biases, rope_freqs) keep their type, and so
// do the MoE router (ffn_gate_inp) and ssm_conv1d, which llama-quantize never quantizes.
bool is_quantizable(std::string_view name, size_t n_dims);

// What the per-role rules need to know about the whole model.
struct ModelShape {
    int n_layer = 1;
    int n_gqa = 1;                 // query heads per KV head
    bool tied_embeddings = false;  // no output.weight: token_embd is also the output head
    int n_expert = 0;              // experts per MoE layer (0: dense). With 8, llama-quantize
                                   // keeps attn_k/attn_v in Q8_0 and lifts attn_output to Q5_K
    bool is_70b = false;           // an 80-layer model (llama.cpp's "70B" type): attn_v that
                                   // would be Q3_K/Q4_K is lifted to Q5_K
};

// The type a quantizable tensor gets. With `pure`, every such tensor gets the mix's base type
// (llama-quantize --pure), expert stacks the mix's expert type where it has one. Either way a type whose block does not divide the row length falls
// back as llama-quantize does (fallback_type).
TensorType choose_tensor_type(const QuantMix& mix, std::string_view name, int64_t row_length,
                              const ModelShape& shape, bool pure);

// For rows of `row_length` elements that `type`'s block does not divide: Q2_K/Q3_K → Q4_0,
// Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, IQ4_XS → IQ4_NL, and F16 when even a 32-block does
// not fit.
// Returns `type` unchanged when it fits.
TensorType fallback_type(TensorType type, int64_t row_length);

}  // namespace hearth::convert
