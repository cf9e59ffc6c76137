#pragma once
// Opens a GGUF model file: the map, the weights bound in place, and the tokenizer.
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

struct LoadedModel {
    std::shared_ptr<const gguf::File> file;
    std::unique_ptr<Model> model;          // null when loaded for tokenizing only
    std::unique_ptr<Tokenizer> tokenizer;
    double load_ms = 0;
    std::vector<std::string> warnings;  // things a user should know (e.g. a tokenizer fallback)
};

enum class LoadWhat { Everything, TokenizerOnly };

// Throws hearth::Error "<path>: <problem>" for anything wrong with the file.
LoadedModel load_model(const std::string& path, LoadWhat what = LoadWhat::Everything);

}  // namespace hearth
