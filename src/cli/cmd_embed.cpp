// hearth embed: one embedding vector per input text, pooled and L2-normalised as the model's
// GGUF says (engine/embed.h). The same vectors as serve's /v1/embeddings and /api/embed.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "engine/embed.h"
#include "engine/loader.h"
#include "engine/prompt.h"

namespace hearth::cli {
namespace {

struct EmbedFlags {
    ModelFlag model;
    SessionFlags session;
    std::vector<std::string> prompts;
    std::vector<std::string> files;
    bool json = false;
    bool truncate = false;
    bool no_normalize = false;
    bool no_parse_special = false;
};

int run(const EmbedFlags& f) {
    std::vector<std::string> texts = f.prompts;
    for (const std::string& path : f.files) texts.push_back(read_input_file(path, "input file"));
    if (texts.empty()) fail("nothing to embed: give -p TEXT or -f FILE");
    for (size_t i = 0; i < texts.size(); ++i)
        if (texts[i].empty()) fail("input {} is empty: there is nothing to embed", i);

    const library::ResolvedModel model = f.model.resolve();
    SessionFlags session = f.session;  // a preset's num_ctx applies unless -c was given
    SamplingParams unused_sampling;
    std::string unused_seed;
    int unused_predict = 0;
    f.model.apply_preset(model, session, unused_sampling, unused_seed, unused_predict);
    const SessionOptions so = session.to_options();
    EmbedOptions eo;
    eo.n_ctx = so.n_ctx;
    eo.n_batch = so.n_batch;
    eo.n_threads = so.n_threads;
    eo.kv_type = so.kv_type;

    LoadedModel lm = load_model(model.path);
    print_warnings(lm);
    Embedder embedder(*lm.model, eo);
    std::vector<std::vector<TokenId>> inputs;
    for (size_t i = 0; i < texts.size(); ++i) {
        inputs.push_back(tokenize_prompt(*lm.tokenizer, texts[i], /*add_special=*/true, !f.no_parse_special));
        try {
            embedder.fit_to_context(inputs.back(), i, f.truncate);
        } catch (const Error& e) {
            fail("{} (--truncate embeds its first {} tokens; -c/--ctx-size sets the context)", e.what(),
                 embedder.n_ctx());
        }
    }
    const Embeddings e = embedder.embed(inputs, !f.no_normalize);

    if (f.json) {
        nlohmann::ordered_json j;
        j["model"] = model.name;
        j["pooling"] = pooling_name(embedder.pooling());
        j["dim"] = embedder.dim();
        j["embeddings"] = e.vectors;
        j["n_tokens"] = e.n_tokens;
        std::printf("%s\n", j.dump().c_str());
        return 0;
    }
    std::printf("%zu embedding%s, dim %d, pooling %s%s, %lld tokens\n", e.vectors.size(),
                e.vectors.size() == 1 ? "" : "s", embedder.dim(), pooling_name(embedder.pooling()),
                f.no_normalize ? "" : ", L2-normalised", static_cast<long long>(e.n_tokens));
    for (size_t i = 0; i < e.vectors.size(); ++i) {
        std::printf("[%zu] %zu token%s:", i, inputs[i].size(), inputs[i].size() == 1 ? "" : "s");
        for (float v : e.vectors[i]) std::printf(" %.6g", v);
        std::printf("\n");
    }
    return 0;
}

}  // namespace

CommandRunner add_embed_command(CLI::App& app) {
    auto flags = std::make_shared<EmbedFlags>();
    CLI::App* cmd = app.add_subcommand("embed", "embedding vectors of texts (for search and RAG)");
    cmd->footer(
        "Each -p or -f is one input; inputs share forward passes (up to -b tokens each).\n"
        "Pooling is the model's <arch>.pooling_type (mean, cls or last; Qwen3-Embedding: last); a model\n"
        "that names none (a chat model) gets mean pooling. Vectors are L2-normalised unless --no-normalize.\n"
        "An input longer than the context (-c) is an error unless --truncate (then its first tokens count).\n"
        "Examples:\n"
        "  hearth embed -m qwen3-embedding.gguf -p \"What is the capital of France?\"\n"
        "  hearth embed -m model.gguf -p \"first\" -p \"second\" --json\n"
        "Output: a header line (count, dim, pooling, tokens), then one line per input: its token count\n"
        "and the values. --json prints {model, pooling, dim, embeddings: [[...]], n_tokens} instead.");
    flags->model.add(*cmd);
    cmd->add_option("-p,--prompt", flags->prompts,
                    "text to embed (repeat for more inputs); special-token text becomes that token");
    cmd->add_option("-f,--file", flags->files, "read an input from a file, bytes exactly (repeatable)");
    flags->session.add(*cmd);
    cmd->add_flag("--json", flags->json, "print {model, pooling, dim, embeddings, n_tokens} as JSON");
    cmd->add_flag("--truncate", flags->truncate, "cut an input longer than the context to its first -c tokens");
    cmd->add_flag("--no-normalize", flags->no_normalize, "leave the pooled vectors unnormalised");
    cmd->add_flag("--no-parse-special", flags->no_parse_special,
                  "tokenize special-token text (\"<|im_end|>\", \"<s>\") as plain text");
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
