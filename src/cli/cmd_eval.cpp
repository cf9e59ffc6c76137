// hearth eval: run token ids through the model as one batch and write the logits of every
// position as raw little-endian float32 [n_tokens][n_vocab] — for comparing numerics with
// other engines.
#include <charconv>
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "engine/loader.h"

namespace hearth::cli {
namespace {

struct EvalFlags {
    ModelFlag model;
    SessionFlags session;
    std::string tokens;
    std::string logits_out;
};

std::vector<TokenId> parse_token_list(const std::string& text) {
    std::vector<TokenId> ids;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        if (comma == std::string::npos) comma = text.size();
        std::string item = text.substr(pos, comma - pos);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        long long v = 0;
        auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
        if (item.empty() || ec != std::errc() || end != item.data() + item.size() || v < 0 || v > INT32_MAX)
            fail("--tokens: '{}' (item {}) is not a token id", item, ids.size() + 1);
        ids.push_back(static_cast<TokenId>(v));
        pos = comma + 1;
    }
    return ids;
}

int run(const EvalFlags& f) {
    std::vector<TokenId> ids = parse_token_list(f.tokens);
    SessionOptions options = f.session.to_options();
    LoadedModel lm = load_model(f.model.resolve().path);
    print_warnings(lm);
    const int n_vocab = lm.model->hparams().n_vocab;
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] >= n_vocab)
            fail("--tokens: id {} (item {}) is out of range: the vocabulary has {} tokens", ids[i], i + 1, n_vocab);
    // The default context must hold the whole batch.
    if (options.n_ctx == 0)
        options.n_ctx = std::max<int>(resolve_context_size(lm.model->hparams(), 0), static_cast<int>(ids.size()));
    // "One batch": the whole list goes through one forward pass.
    options.n_batch = std::max<int>(options.n_batch, static_cast<int>(ids.size()));
    Session session(*lm.model, options);
    const std::vector<float>& logits = session.eval(ids, LogitsFor::All);
    write_file_atomically(f.logits_out, logits.data(), logits.size() * sizeof(float));
    std::fprintf(stderr, "hearth: %zu tokens × %d logits written to %s\n", ids.size(), n_vocab,
                 f.logits_out.c_str());
    return 0;
}

}  // namespace

CommandRunner add_eval_command(CLI::App& app) {
    auto flags = std::make_shared<EvalFlags>();
    CLI::App* cmd = app.add_subcommand("eval", "run token ids as one batch and write every position's logits");
    cmd->footer("Output: raw little-endian float32, row-major [n_tokens][n_vocab], no header.");
    flags->model.add(*cmd);
    cmd->add_option("--tokens", flags->tokens, "comma-separated token ids, e.g. 1,403,407")->required();
    cmd->add_option("--logits-out", flags->logits_out, "file to write the logits to")->required();
    flags->session.add(*cmd);
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
