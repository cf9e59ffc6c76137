// hearth tokenize: text → token ids as a one-line JSON array. Works on vocabulary-only GGUFs.
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "engine/loader.h"

namespace hearth::cli {
namespace {

struct TokenizeFlags {
    ModelFlag model;
    std::string text;
    std::string file;
    bool no_bos = false;
    bool parse_special = false;
};

int run(const TokenizeFlags& f, bool have_text) {
    std::string text = f.text;
    if (!f.file.empty()) {
        text = read_input_file(f.file, "input file");
    } else if (!have_text) {
        fail("give the text with -p TEXT or -f FILE");
    }
    LoadedModel lm = load_model(f.model.path, LoadWhat::TokenizerOnly);
    print_warnings(lm);
    std::vector<TokenId> ids = lm.tokenizer->encode(text, !f.no_bos, f.parse_special);
    std::string out = "[";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
    out += "]\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

}  // namespace

CommandRunner add_tokenize_command(CLI::App& app) {
    auto flags = std::make_shared<TokenizeFlags>();
    CLI::App* cmd = app.add_subcommand("tokenize", "print the token ids of a text as a JSON array");
    cmd->footer("The text is used verbatim: no escape processing; a file's bytes are used exactly.");
    flags->model.add(*cmd);
    auto* p = cmd->add_option("-p,--prompt", flags->text, "text to tokenize");
    auto* file = cmd->add_option("-f,--file", flags->file, "read the text from a file");
    p->excludes(file);
    cmd->add_flag("--no-bos", flags->no_bos, "do not add BOS/EOS even if the model's flags ask for them");
    cmd->add_flag("--parse-special", flags->parse_special,
                  "match special-token text such as <s> in the input (off: it is plain text)");
    return [flags, p] { return run(*flags, p->count() > 0); };
}

}  // namespace hearth::cli
