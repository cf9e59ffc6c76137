#pragma once
// Where a model's weight bytes are: per layer, the token embedding, the output head. Read
// exactly from a GGUF file's tensor directory, or laid out from catalogue hyperparameters
// with each tensor typed by the quantization mix's per-role rule (convert/quant_mix, the rule
// `hearth quantize` uses), so a predicted size is the size `hearth quantize` would write.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "convert/quant_mix.h"
#include "fit/model_catalogue.h"
#include "gguf/gguf.h"
#include "model/hparams.h"

namespace hearth::fit {

struct WeightLayout {
    std::string source;  // file path or catalogue name
    std::string quant;   // mix name ("Q4_K_M"), or the file's most common type
    HParams hp;          // what the KV cache and compute buffers depend on
    int n_expert = 0, n_expert_used = 0;
    bool tied_embeddings = false;
    std::set<std::string> present;  // the names of the tensors the model has
    uint64_t n_params = 0;
    uint64_t header_bytes = 0;   // GGUF header, metadata and tensor directory
    uint64_t embd_bytes = 0;     // token_embd
    // The per-layer embedding table (gemma4's per_layer_token_embd: a row of n_layer ×
    // n_embd_per_layer per token, ~1.5 GiB in E4B-class files). Memory-mapped and, like an
    // untied token_embd, read a row per token: never all of it.
    uint64_t ple_embd_bytes = 0;
    uint64_t ple_embd_row_bytes = 0;  // one token's row of it
    uint64_t output_bytes = 0;   // output head (0 when tied) and output_norm
    uint64_t other_bytes = 0;    // anything outside layers not named above (rope_freqs, …)
    uint64_t expert_bytes = 0;   // MoE expert matrices, all layers
    std::vector<uint64_t> layer_bytes;
    size_t n_merges = 0;         // tokenizer merges
    uint64_t n_piece_bytes = 0;  // heap bytes of the vocabulary's token strings (file input only)
    uint64_t metadata_heap_bytes = 0;  // the parsed metadata values the loader keeps (file input only)

    bool has_optional(const std::string& name) const { return present.count(name) > 0; }
    uint64_t weights_bytes() const;  // every tensor
    uint64_t file_bytes() const { return header_bytes + weights_bytes(); }
    // Weight bytes one generated token reads: every matrix once, but only one row of an untied
    // token embedding and of the per-layer embedding table, and only the routed experts of an
    // MoE layer.
    uint64_t active_bytes_per_token() const;
    // 2 × active parameters: multiply-adds per token through the weights (embedding look-ups,
    // token_embd untied and the per-layer table, do none).
    double flops_per_token() const;
};

// Heap a parsed gguf::File holds for its metadata values: one gguf::Value per array element,
// and malloc chunks for strings longer than the small-string buffer.
uint64_t metadata_heap_bytes(const gguf::File& file);
// Bytes malloc takes for a request of n bytes (glibc, 64-bit: 8-byte header, 16-byte steps).
uint64_t malloc_chunk_bytes(uint64_t n);
// The heap a std::string of this length owns (0 when it fits the small-string buffer).
uint64_t string_heap_bytes(uint64_t length);

// Exact, from the tensor directory.
WeightLayout layout_from_file(const gguf::File& file);
// Every tensor llama.cpp's converter writes for this model, typed by `mix`.
WeightLayout layout_from_catalogue(const CatalogueModel& model, const convert::QuantMix& mix);

// A dense model known only by its parameter count, with optional shape details for the KV
// term (0 = unknown: taken from the catalogue model nearest in size).
struct ParamsShape {
    double n_params = 0;
    int n_layer = 0, n_embd = 0, n_head_kv = 0, head_dim = 0, n_ctx = 0;
};
WeightLayout layout_from_params(const ParamsShape& shape, const convert::QuantMix& mix);

// "70.6B", "8b", "500M", "1.2T", "7000000000" → parameters. Throws hearth::Error.
double parse_param_count(std::string_view text);

}  // namespace hearth::fit
