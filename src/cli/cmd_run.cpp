// hearth run: one-shot generation. Streams the continuation to stdout, timings to stderr.
#include <sys/resource.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/reply_printer.h"
#include "common/error.h"
#include "engine/chat_session.h"
#include "engine/generate.h"
#include "engine/grammar_constraint.h"
#include "engine/loader.h"
#include "engine/prompt.h"
#include "ops/cpu/dispatch.h"

namespace hearth::cli {
namespace {

struct RunFlags {
    ModelFlag model;
    SessionFlags session;
    std::string prompt;
    std::string prompt_file;
    int n_predict = -1;
    SamplingParams sampling;
    std::string seed = "-1";
    bool no_bos = false;
    bool no_parse_special = false;
    bool quiet = false;
    bool chat = false;
    bool hide_thinking = false;
    bool memory_report = false;
    GrammarFlags grammar;
};

int run(const RunFlags& f) {
    const std::string gbnf = f.grammar.gbnf();  // a bad grammar fails before the model is looked up
    std::string prompt = f.prompt;
    if (!f.prompt_file.empty()) prompt = read_input_file(f.prompt_file, "prompt file");
    // A library name brings its preset (num_ctx, sampling) for the flags not given here.
    const library::ResolvedModel model = f.model.resolve(f.quiet);
    SamplingParams sampling = f.sampling;
    SessionFlags session_flags = f.session;
    std::string seed = f.seed;
    int n_predict = f.n_predict;
    f.model.apply_preset(model, session_flags, sampling, seed, n_predict);
    sampling.seed = parse_seed(seed);
    sampling.validate();
    SessionOptions session_options = session_flags.to_options();

    // Resolved first so a bad HEARTH_CPU fails before a long load.
    const char* kernels = ops::cpu_path_name(ops::active_cpu_path());
    LoadedModel lm = load_model(model.path);
    print_warnings(lm);
    Session session(*lm.model, session_options);
    std::vector<TokenId> tokens;
    bool opens_thinking = false;  // the chat template left a <think> block open
    if (f.chat) {
        // One user message through the model's chat template (ChatML when it has none).
        ChatFormat format = model.tmpl ? ChatFormat::with_template(*model.tmpl, *lm.tokenizer)
                                      : ChatFormat::for_model(*lm.file, *lm.tokenizer);
        if (format.is_default && !f.quiet)
            std::fprintf(stderr, "hearth: note: %s has no chat template; using the default (ChatML)\n",
                         model.name.c_str());
        chat::ChatInputs in;
        in.messages = nlohmann::ordered_json::array();
        if (model.system) in.messages.push_back({{"role", "system"}, {"content", *model.system}});
        in.messages.push_back({{"role", "user"}, {"content", prompt}});
        in.bos_token = format.bos_token;
        in.eos_token = format.eos_token;
        in.options.system_clock = true;
        // The template's special tokens are parsed, the message's never (engine/prompt.h).
        const ChatPrompt rendered = render_chat_prompt(format.tmpl, in, *lm.tokenizer);
        opens_thinking = chat::prompt_opens_thinking(rendered.text);
        tokens = tokenize_chat_prompt(*lm.tokenizer, rendered, !f.no_bos);
    } else {
        tokens = tokenize_prompt(*lm.tokenizer, prompt, !f.no_bos, !f.no_parse_special);
    }
    if (tokens.empty()) {
        // An empty prompt starts from BOS when the model has one, even if it does not add it.
        TokenId bos = lm.tokenizer->vocab().special.bos;
        if (bos == kNoToken) fail("the prompt is empty and the model has no BOS token to start from");
        tokens.push_back(bos);
    }

    GenerateOptions options;
    options.n_predict = n_predict;
    options.sampling = sampling;
    std::unique_ptr<grammar::TokenConstraint> constraint;
    if (!gbnf.empty()) constraint = make_token_constraint(*lm.tokenizer, lm.model->hparams().n_vocab, gbnf);
    options.constraint = constraint.get();
    StreamDecoder decoder(*lm.tokenizer);
    // With --chat the text is an answer: a reasoning model's markup is framed, not printed.
    // Without it, exactly the continuation.
    std::optional<ReplyPrinter> reply;
    if (f.chat) reply.emplace(stdout, f.hide_thinking, isatty(fileno(stdout)) != 0);
    if (reply && opens_thinking) reply->begin_in_thinking();
    // Generating from BOS alone, the first piece carries SentencePiece's dummy-prefix space;
    // like SentencePiece's own decoder, drop it so the text starts at its first character.
    bool strip_prefix_space = tokens.size() == 1 && tokens[0] == lm.tokenizer->vocab().special.bos &&
                              lm.tokenizer->vocab().add_space_prefix;
    GenerateResult r = generate(session, *lm.tokenizer, tokens, options, [&](TokenId id) {
        std::string text = decoder.push(id);
        if (strip_prefix_space && !text.empty()) {
            if (text[0] == ' ') text.erase(0, 1);
            strip_prefix_space = false;
        }
        if (!text.empty()) {
            if (reply) {
                reply->push(text);
            } else {
                std::fwrite(text.data(), 1, text.size(), stdout);
                std::fflush(stdout);
            }
        }
        return true;
    });
    std::string rest = decoder.flush();
    if (reply) {
        reply->push(rest);
        reply->finish();
    } else {
        std::fwrite(rest.data(), 1, rest.size(), stdout);
    }
    // On a terminal, end the line so the prompt comes back cleanly; in a pipe, write exactly
    // the continuation.
    if (isatty(fileno(stdout))) std::fputc('\n', stdout);
    std::fflush(stdout);

    if (!f.quiet) {
        const int n_gen = static_cast<int>(r.tokens.size());
        std::fprintf(stderr,
                     "hearth: load %.1f ms | prompt %d tokens, %.1f ms, %.2f t/s | generated %d tokens, "
                     "%.1f ms, %.2f t/s | stop: %s | seed %llu | threads %d | ctx %d | kernels %s\n",
                     lm.load_ms, r.n_prompt, r.prompt_ms, r.n_prompt / (r.prompt_ms / 1000.0), n_gen,
                     r.gen_ms, n_gen > 0 ? n_gen / (r.gen_ms / 1000.0) : 0.0, stop_reason_name(r.stop),
                     static_cast<unsigned long long>(r.seed), session.n_threads(), session.n_ctx(), kernels);
    }
    if (f.memory_report) {
        // What `hearth fit -m FILE` predicts, measured: peak resident memory and the session's
        // own allocations.
        struct rusage ru {};
        getrusage(RUSAGE_SELF, &ru);
        const memory::SessionBytes mem = session.memory();
        std::fprintf(stderr, "hearth: memory: peak_rss_bytes %llu kv_cache_bytes %zu compute_bytes %zu\n",
                     static_cast<unsigned long long>(ru.ru_maxrss) * 1024ULL, mem.kv_cache, mem.compute());
    }
    return 0;
}

}  // namespace

CommandRunner add_run_command(CLI::App& app) {
    auto flags = std::make_shared<RunFlags>();
    CLI::App* cmd = app.add_subcommand("run", "generate a continuation of a prompt");
    cmd->footer(
        "Examples:\n"
        "  hearth run -p \"Why is the sky blue?\" --chat      (the default model, pulled on first use)\n"
        "  hearth run -m model.gguf -p \"Once upon a time\" -n 64\n"
        "  hearth run -m llama3.2:1b -p \"Hello\" --chat        (a library name: see hearth list / pull)\n"
        "  hearth run -m model.gguf -p \"\" --temp 0 -n 200      (greedy, from BOS)\n"
        "  hearth run -p \"A cat as JSON:\" --json-schema cat.json   (output that matches the schema)\n"
        "The continuation streams to stdout; a timing line goes to stderr.");
    flags->model.default_name = library::kDefaultModel;
    flags->model.add(*cmd);
    auto* p = cmd->add_option("-p,--prompt", flags->prompt,
                              "prompt text, taken verbatim; special-token text in it becomes that token");
    auto* pf = cmd->add_option("-f,--file", flags->prompt_file, "read the prompt from a file (bytes exactly)");
    p->excludes(pf);
    cmd->add_option("-n,--n-predict", flags->n_predict, "tokens to generate (-1: until end of text or full context)")
        ->capture_default_str();
    flags->session.add(*cmd);
    add_sampling_flags(*cmd, flags->sampling, flags->seed);
    flags->grammar.add(*cmd);
    cmd->add_flag("--no-bos", flags->no_bos, "do not add the BOS token even if the model asks for it");
    cmd->add_flag("--no-parse-special", flags->no_parse_special,
                  "tokenize special-token text in the prompt (\"<|im_start|>\", \"<s>\") as plain text; with --chat "
                  "the message is always plain text");
    cmd->add_flag("-q,--quiet", flags->quiet, "no timing line on stderr");
    cmd->add_flag("--chat", flags->chat,
                  "treat the prompt as one user message and apply the model's chat template");
    cmd->add_flag("--hide-thinking", flags->hide_thinking,
                  "with --chat: print only a reasoning model's answer, not its thinking");
    cmd->add_flag("--memory-report", flags->memory_report,
                  "print peak resident memory and the session's allocations to stderr (compare: hearth fit)");
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
