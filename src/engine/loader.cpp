#include "engine/loader.h"

#include <chrono>

#include "common/error.h"

namespace hearth {

LoadedModel load_model(const std::string& path, LoadWhat what) {
    auto start = std::chrono::steady_clock::now();
    LoadedModel lm;
    lm.file = gguf::File::open(path);
    if (what == LoadWhat::Everything) lm.model = Model::load(lm.file);
    lm.tokenizer = load_tokenizer(*lm.file);
    lm.warnings = lm.tokenizer->vocab().warnings;
    if (lm.model && lm.tokenizer->n_vocab() != lm.model->hparams().n_vocab)
        fail("{}: the tokenizer has {} tokens but token_embd.weight has {} rows", path,
             lm.tokenizer->n_vocab(), lm.model->hparams().n_vocab);
    lm.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return lm;
}

}  // namespace hearth
