#pragma once
// What the Ollama listing routes say about a model, read from its GGUF without loading it:
// `details` (/api/tags, /api/ps, /api/show) and the /api/show body.
#include <string>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"

namespace hearth::serve {

// {parent_model, format, family, families, parameter_size, quantization_level}
nlohmann::ordered_json model_details(const gguf::File& file);
// POST /api/show: template, details, model_info (metadata but the tokenizer's arrays),
// capabilities ("tools" when the template reads them) and the embedding pooling.
nlohmann::ordered_json show_body(const gguf::File& file, const std::string& template_source);
// "sha256:<hex>" -> "<hex>", as Ollama's listings spell digests.
std::string bare_digest(const std::string& digest);
// The digest a listing shows for weights: the library's sha256 ("sha256:<hex>"), or for a file
// the library only refers to (never hashed), a stand-in from its path.
std::string weights_digest(const std::string& library_digest, const std::string& path);

}  // namespace hearth::serve
