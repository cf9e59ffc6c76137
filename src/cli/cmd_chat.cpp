// hearth chat: an interactive conversation in the terminal, like `ollama run`. Line editing and
// history come from libedit when stdin is a terminal; otherwise lines are read plainly (scripts,
// tests). Ctrl-C stops the answer being written, Ctrl-D or /bye leaves.
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>
#include <unistd.h>

#include <editline/readline.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/reply_printer.h"
#include "common/error.h"
#include "engine/chat_session.h"
#include "engine/grammar_constraint.h"
#include "engine/loader.h"

namespace hearth::cli {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_sigint(int) { g_interrupted = 1; }

struct ChatFlags {
    ModelFlag model;
    SessionFlags session;
    std::string system;
    std::string template_file;
    int n_predict = -1;
    SamplingParams sampling;
    std::string seed = "-1";
    bool hide_thinking = false;
    GrammarFlags grammar;
};

template <typename T>
bool parse_number(const std::string& text, T& out) {
    std::istringstream in(text);
    T v{};
    in >> v;
    if (in.fail() || !(in >> std::ws).eof()) return false;
    out = v;
    return true;
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    const size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

// Reads lines from the terminal with libedit (editing, history) or, when stdin is not a
// terminal, plainly from stdin.
class LineReader {
public:
    LineReader() : tty_(isatty(STDIN_FILENO) != 0) {}
    bool tty() const { return tty_; }

    // nullopt at end of input (Ctrl-D).
    std::optional<std::string> read(const char* prompt) {
        if (!tty_) {
            std::string line;
            if (!std::getline(std::cin, line)) return std::nullopt;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            return line;
        }
        for (;;) {
            g_interrupted = 0;
            char* raw = readline(prompt);
            if (g_interrupted) {
                // Ctrl-C at the prompt: drop the line, as a shell does.
                std::free(raw);
                g_interrupted = 0;
                std::fputs("\nUse Ctrl + d or /bye to exit.\n", stdout);
                std::fflush(stdout);
                continue;
            }
            if (!raw) return std::nullopt;
            std::string line(raw);
            std::free(raw);
            return line;
        }
    }
    void remember(const std::string& text) {
        if (tty_ && !text.empty()) add_history(text.c_str());
    }

private:
    bool tty_;
};

const char* const kHelp =
    "Available commands:\n"
    "  /set temperature|top_k|top_p|min_p|repeat_penalty|repeat_last_n|seed|num_predict VALUE\n"
    "  /set system TEXT   set the system message (\"/set system\" alone removes it)\n"
    "  /set think show|hide   print or leave out a reasoning model's thinking\n"
    "  /clear             forget the conversation (the system message stays)\n"
    "  /save FILE         write the conversation as JSON (OpenAI messages)\n"
    "  /load FILE         read a conversation saved with /save\n"
    "  /bye               leave (or Ctrl-D)\n"
    "  /?, /help          this help\n"
    "Use \"\"\" to begin and end a multi-line message. Ctrl-C stops an answer.\n";

class ChatLoop {
public:
    ChatLoop(ChatSession& chat, GenerateOptions options, bool hide_thinking)
        : chat_(chat), options_(std::move(options)), hide_thinking_(hide_thinking) {}

    int run() {
        for (;;) {
            std::optional<std::string> line = reader_.read(">>> ");
            if (!line) break;
            std::string text = *line;
            const std::string t = trim(text);
            if (t.empty()) continue;
            if (t.rfind("\"\"\"", 0) == 0) {
                std::optional<std::string> multi = read_multiline(t.substr(3));
                if (!multi) break;
                text = *multi;
                reader_.remember("\"\"\"" + text + "\"\"\"");
            } else {
                reader_.remember(text);
                if (t[0] == '/') {
                    if (!command(t)) break;
                    continue;
                }
            }
            answer(text);
        }
        if (reader_.tty()) std::fputc('\n', stdout);
        std::fflush(stdout);
        return 0;
    }

private:
    // The text after an opening """, up to the line that ends with """.
    std::optional<std::string> read_multiline(std::string first) {
        auto ends = [](const std::string& s) { return s.size() >= 3 && s.compare(s.size() - 3, 3, "\"\"\"") == 0; };
        std::string first_trimmed = first;
        while (!first_trimmed.empty() && (first_trimmed.back() == ' ' || first_trimmed.back() == '\r'))
            first_trimmed.pop_back();
        if (ends(first_trimmed)) return first_trimmed.substr(0, first_trimmed.size() - 3);
        // Lines joined with \n; an opening or closing """ alone on its line adds no empty line.
        std::vector<std::string> lines;
        if (!first_trimmed.empty()) lines.push_back(first);
        for (;;) {
            std::optional<std::string> line = reader_.read("... ");
            if (!line) return std::nullopt;
            std::string l = *line;
            while (!l.empty() && (l.back() == ' ' || l.back() == '\r')) l.pop_back();
            const bool last = ends(l);
            if (!last) {
                lines.push_back(*line);
                continue;
            }
            l.resize(l.size() - 3);
            if (!l.empty()) lines.push_back(l);
            std::string text;
            for (size_t i = 0; i < lines.size(); ++i) text += (i ? "\n" : "") + lines[i];
            return text;
        }
    }

    void answer(const std::string& text) {
        g_interrupted = 0;
        ReplyPrinter printer(stdout, hide_thinking_, isatty(STDOUT_FILENO) != 0);
        bool wrote = false, first = true;
        try {
            ChatTurnResult r = chat_.respond(
                text, options_,
                [&](std::string_view piece) {
                    if (first && chat_.prompt_opens_thinking()) printer.begin_in_thinking();
                    first = false;
                    printer.push(piece);
                    wrote = printer.wrote();
                    return g_interrupted == 0;
                },
                [](int dropped) {
                    std::fprintf(stderr,
                                 "[the conversation outgrew the context: dropped the %d oldest turn%s "
                                 "(the system message is kept)]\n",
                                 dropped, dropped == 1 ? "" : "s");
                    std::fflush(stderr);
                });
            printer.finish();
            wrote = printer.wrote();
            std::fputs(wrote ? "\n\n" : "\n", stdout);
            std::fflush(stdout);
            if (r.generation.stop == StopReason::ContextFull)
                std::fprintf(stderr, "[the answer filled the context and was cut off; the oldest turns will be "
                                     "dropped to make room for the next message]\n");
            else if (r.generation.stop == StopReason::Cancelled)
                std::fprintf(stderr, "[answer stopped]\n");
        } catch (const std::exception& e) {
            printer.finish();
            if (wrote || printer.wrote()) std::fputc('\n', stdout);
            std::fflush(stdout);
            std::fprintf(stderr, "hearth: error: %s\n", e.what());
        }
        std::fflush(stderr);
        g_interrupted = 0;
    }

    // false: leave.
    bool command(const std::string& line) {
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        std::string rest;
        std::getline(in, rest);
        rest = trim(rest);
        if (cmd == "/bye" || cmd == "/exit") return false;
        if (cmd == "/?" || cmd == "/help") {
            std::fputs(kHelp, stdout);
        } else if (cmd == "/clear") {
            chat_.clear();
            std::puts("Cleared the conversation.");
        } else if (cmd == "/set") {
            set(rest);
        } else if (cmd == "/save") {
            if (rest.empty()) return say_error("usage: /save FILE"), true;
            try {
                // Answers may hold invalid UTF-8 (a model can emit any bytes): written as U+FFFD.
                const std::string out =
                    chat_.messages().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
                write_file_atomically(rest, out.data(), out.size());
                std::printf("Saved the conversation (%zu messages) to %s\n", chat_.messages().size(), rest.c_str());
            } catch (const std::exception& e) {
                say_error(e.what());
            }
        } else if (cmd == "/load") {
            if (rest.empty()) return say_error("usage: /load FILE"), true;
            try {
                nlohmann::ordered_json j;
                try {
                    j = nlohmann::ordered_json::parse(read_input_file(rest, "conversation file"));
                } catch (const nlohmann::json::parse_error& e) {
                    fail("{}: not valid JSON: {}", rest, e.what());
                }
                if (j.is_object() && j.contains("messages")) j = j["messages"];
                chat_.set_messages(std::move(j));
                std::printf("Loaded a conversation (%zu messages) from %s\n", chat_.messages().size(), rest.c_str());
            } catch (const std::exception& e) {
                say_error(e.what());
            }
        } else {
            std::printf("Unknown command '%s'. Type /? for help\n", cmd.c_str());
        }
        std::fflush(stdout);
        return true;
    }

    void say_error(const std::string& message) {
        std::fflush(stdout);
        std::fprintf(stderr, "hearth: error: %s\n", message.c_str());
        std::fflush(stderr);
    }

    void set(const std::string& args) {
        std::istringstream in(args);
        std::string name;
        in >> name;
        std::string value;
        std::getline(in, value);
        value = trim(value);
        if (name == "system") {
            chat_.set_system(value);
            std::puts(value.empty() ? "Removed the system message." : "Set system message.");
            return;
        }
        if (name == "think") {
            if (value != "show" && value != "hide") return say_error("usage: /set think show|hide");
            hide_thinking_ = value == "hide";
            std::puts(hide_thinking_ ? "Thinking will be left out." : "Thinking will be shown.");
            return;
        }
        if (name.empty() || value.empty())
            return say_error("usage: /set PARAMETER VALUE (temperature, top_k, top_p, min_p, repeat_penalty, "
                             "repeat_last_n, seed, num_predict), /set system TEXT or /set think show|hide");
        GenerateOptions o = options_;
        SamplingParams& s = o.sampling;
        bool ok = true;
        try {
            if (name == "temperature") ok = parse_number(value, s.temperature);
            else if (name == "top_k") ok = parse_number(value, s.top_k);
            else if (name == "top_p") ok = parse_number(value, s.top_p);
            else if (name == "min_p") ok = parse_number(value, s.min_p);
            else if (name == "repeat_penalty") ok = parse_number(value, s.repeat_penalty);
            else if (name == "repeat_last_n") ok = parse_number(value, s.repeat_last_n);
            else if (name == "seed") s.seed = parse_seed(value, "seed");
            else if (name == "num_predict") ok = parse_number(value, o.n_predict) && o.n_predict >= -1;
            else return say_error("unknown parameter '" + name + "' (see /?)");
            if (!ok) return say_error("'" + value + "' is not a valid value for " + name);
            s.validate();
        } catch (const Error& e) {
            return say_error(e.what());
        }
        options_ = o;
        std::printf("Set parameter '%s' to '%s'\n", name.c_str(), value.c_str());
    }

    ChatSession& chat_;
    GenerateOptions options_;
    bool hide_thinking_;
    LineReader reader_;
};

int run(const ChatFlags& f) {
    const std::string gbnf = f.grammar.gbnf();  // a bad grammar fails before the model is looked up
    // A library name brings its preset (system prompt, num_ctx, sampling) for what is not given here.
    const library::ResolvedModel model = f.model.resolve();
    GenerateOptions options;
    options.n_predict = f.n_predict;
    options.sampling = f.sampling;
    SessionFlags session_flags = f.session;
    std::string seed = f.seed;
    f.model.apply_preset(model, session_flags, options.sampling, seed, options.n_predict);
    options.sampling.seed = parse_seed(seed, "--seed");
    options.sampling.validate();
    if (options.n_predict < -1) fail("-n/--n-predict must be -1 (unlimited) or at least 0 (got {})", options.n_predict);
    SessionOptions session_options = session_flags.to_options();

    LoadedModel lm = load_model(model.path);
    print_warnings(lm);
    // --template-file wins over a preset's TEMPLATE, which wins over the model's own.
    ChatFormat format = !f.template_file.empty()
                            ? ChatFormat::with_template(read_input_file(f.template_file, "template file"), *lm.tokenizer)
                        : model.tmpl ? ChatFormat::with_template(*model.tmpl, *lm.tokenizer)
                                     : ChatFormat::for_model(*lm.file, *lm.tokenizer);
    if (format.is_default)
        std::fprintf(stderr, "hearth: note: %s has no chat template; using the default (ChatML)\n",
                     model.name.c_str());
    Session session(*lm.model, session_options);
    // Every answer follows the grammar (the constraint is reset at each generation).
    std::unique_ptr<grammar::TokenConstraint> constraint;
    if (!gbnf.empty()) constraint = make_token_constraint(*lm.tokenizer, lm.model->hparams().n_vocab, gbnf);
    options.constraint = constraint.get();
    ChatSession chat(session, *lm.tokenizer, std::move(format));
    if (!f.system.empty()) chat.set_system(f.system);
    else if (model.system) chat.set_system(*model.system);

    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a read at the prompt returns
    struct sigaction old {};
    sigaction(SIGINT, &sa, &old);
    int rc = ChatLoop(chat, options, f.hide_thinking).run();
    sigaction(SIGINT, &old, nullptr);
    return rc;
}

}  // namespace

CommandRunner add_chat_command(CLI::App& app) {
    auto flags = std::make_shared<ChatFlags>();
    CLI::App* cmd = app.add_subcommand("chat", "talk with a model interactively");
    cmd->footer(
        "Examples:\n"
        "  hearth chat                      (the default model, pulled on first use)\n"
        "  hearth chat -m model.gguf\n"
        "  hearth chat -m model.gguf --system \"Answer in one sentence.\" --temp 0.7\n"
        "Type /? in the chat for its commands. Ctrl-C stops an answer; Ctrl-D or /bye leaves.");
    flags->model.default_name = library::kDefaultModel;
    flags->model.add(*cmd);
    cmd->add_option("--system", flags->system, "system message");
    cmd->add_option("--template-file", flags->template_file,
                    "Jinja2 chat template to use instead of the model's");
    cmd->add_option("-n,--n-predict", flags->n_predict, "most tokens per answer (-1: until the model stops)")
        ->capture_default_str();
    cmd->add_flag("--hide-thinking", flags->hide_thinking,
                  "do not print a reasoning model's thinking (gpt-oss's analysis channel), only its answer");
    flags->session.add(*cmd);
    add_sampling_flags(*cmd, flags->sampling, flags->seed);
    flags->grammar.add(*cmd);
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
