// hearth tokenize: text → token ids as a one-line JSON array, or with --detok ids → text.
// Works on vocabulary-only GGUFs.
#include <charconv>
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
    bool detok = false;
    bool render_special = false;
};

// "[1, 2, 3]" (a JSON array) or "1,2,3" (a comma list; spaces allowed) → ids.
std::vector<TokenId> parse_ids(const std::string& text, int32_t n_vocab) {
    std::string body = text;
    const size_t b = body.find_first_not_of(" \t\r\n");
    const size_t e = body.find_last_not_of(" \t\r\n");
    body = b == std::string::npos ? "" : body.substr(b, e - b + 1);
    if (!body.empty() && body.front() == '[') {
        if (body.back() != ']') fail("--detok: the input starts with '[' but is not a JSON array of token ids");
        body = body.substr(1, body.size() - 2);
    }
    std::vector<TokenId> ids;
    size_t pos = 0;
    while (pos <= body.size()) {
        size_t comma = body.find(',', pos);
        if (comma == std::string::npos) comma = body.size();
        std::string item = body.substr(pos, comma - pos);
        const size_t ib = item.find_first_not_of(" \t\r\n");
        const size_t ie = item.find_last_not_of(" \t\r\n");
        item = ib == std::string::npos ? "" : item.substr(ib, ie - ib + 1);
        if (item.empty()) {
            if (comma == body.size() && ids.empty() && body.find_first_not_of(" \t\r\n") == std::string::npos) break;
            fail("--detok: empty item in the id list (give a JSON array or a comma list of ids)");
        }
        int64_t v = 0;
        auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
        if (ec != std::errc() || end != item.data() + item.size())
            fail("--detok: '{}' is not a token id (give a JSON array or a comma list of ids)", item);
        if (v < 0 || v >= n_vocab) fail("--detok: token id {} is out of range [0, {})", v, n_vocab);
        ids.push_back(static_cast<TokenId>(v));
        pos = comma + 1;
    }
    return ids;
}

int run(const TokenizeFlags& f, bool have_text) {
    std::string text = f.text;
    if (!f.file.empty()) {
        text = read_input_file(f.file, "input file");
    } else if (!have_text) {
        fail("give the text with -p TEXT or -f FILE");
    }
    LoadedModel lm = load_model(f.model.resolve().path, LoadWhat::TokenizerOnly);
    print_warnings(lm);
    if (f.detok) {
        const std::vector<TokenId> ids = parse_ids(text, lm.tokenizer->n_vocab());
        std::string decoded = lm.tokenizer->decode(ids, f.render_special);
        // Like SentencePiece's own decoder, drop the space of the dummy prefix, so that
        // detokenizing the ids of a text gives back exactly that text.
        if (lm.tokenizer->vocab().add_space_prefix && !decoded.empty() && decoded[0] == ' ') decoded.erase(0, 1);
        std::fwrite(decoded.data(), 1, decoded.size(), stdout);
        return 0;
    }
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
    cmd->add_flag("--detok", flags->detok,
                  "the input is token ids (a JSON array or a comma list): print their text exactly, no newline");
    cmd->add_flag("--render-special", flags->render_special,
                  "with --detok: write control tokens such as <s> as their text (off: they give nothing)");
    return [flags, p] { return run(*flags, p->count() > 0); };
}

}  // namespace hearth::cli
