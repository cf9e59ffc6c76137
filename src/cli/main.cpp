// hearth: the command-line front-end. Parses flags, dispatches to a subcommand, and turns any
// hearth::Error into a one-line message and exit code 1.
#include <cstdio>
#include <map>
#include <string>

#include "cli/commands.h"
#include "common/error.h"
#include "common/version.h"
#include "model/arch.h"

namespace {

// Messages can quote names and values from a file; escape control characters so an error is
// always exactly one line.
std::string one_line(const char* message) {
    std::string out;
    for (const char* p = message; *p; ++p) {
        const auto c = static_cast<unsigned char>(*p);
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
        else out += static_cast<char>(c);
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"hearth: a private, local LLM runtime"};
    app.set_version_flag("--version", fmt::format("hearth {} (commit {})", hearth::version(), hearth::git_commit()));
    app.require_subcommand(1);
    app.fallthrough(false);
    std::string families = "\nModel families (GGUF general.architecture):\n";
    for (const hearth::ArchSpec& a : hearth::arch_table())
        if (a.runnable) families += fmt::format("  {:<10} {}\n", a.name, a.models);
    app.footer(families + "Tensor types, verification and what is not yet supported: docs/models.md");

    std::map<CLI::App*, hearth::cli::CommandRunner> runners;
    auto reg = [&](hearth::cli::CommandRunner (*add)(CLI::App&)) {
        size_t before = app.get_subcommands({}).size();
        auto runner = add(app);
        auto subs = app.get_subcommands({});
        if (subs.size() > before) runners[subs.back()] = runner;
    };
    reg(hearth::cli::add_run_command);
    reg(hearth::cli::add_info_command);
    reg(hearth::cli::add_tokenize_command);
    reg(hearth::cli::add_eval_command);
    reg(hearth::cli::add_embed_command);
    reg(hearth::cli::add_bench_command);
    reg(hearth::cli::add_synth_command);
    reg(hearth::cli::add_quantize_command);
    reg(hearth::cli::add_template_command);
    reg(hearth::cli::add_chat_command);
    reg(hearth::cli::add_serve_command);
    reg(hearth::cli::add_fit_command);
    reg(hearth::cli::add_pull_command);
    reg(hearth::cli::add_import_command);
    reg(hearth::cli::add_list_command);
    reg(hearth::cli::add_show_command);
    reg(hearth::cli::add_rm_command);
    reg(hearth::cli::add_create_command);
    reg(hearth::cli::add_ps_command);
    reg(hearth::cli::add_eval_cost_command);
    reg(hearth::cli::add_perplexity_command);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // `hearth bogus`: CLI11 would only say "A subcommand is required".
        if (argc > 1 && argv[1][0] != '-' && dynamic_cast<const CLI::RequiredError*>(&e) &&
            app.get_subcommands().empty()) {
            std::string names;
            for (const CLI::App* sub : app.get_subcommands({})) {
                if (!names.empty()) names += ", ";
                names += sub->get_name();
            }
            std::fprintf(stderr, "hearth: error: unknown command '%s' (commands: %s; see hearth --help)\n", argv[1],
                         names.c_str());
            return 1;
        }
        // --help and --version are "errors" to CLI11 with exit code 0: print them as it does.
        if (e.get_exit_code() == 0) return app.exit(e);
        // Usage errors read like every other error: one line, exit code 1.
        std::fprintf(stderr, "hearth: error: %s (see --help)\n", e.what());
        return 1;
    }
    try {
        for (auto& [sub, runner] : runners)
            if (sub->parsed()) return runner();
    } catch (const hearth::Error& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "hearth: error: %s\n", one_line(e.what()).c_str());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "hearth: error: out of memory\n");
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hearth: error: %s\n", one_line(e.what()).c_str());
        return 1;
    }
    return 1;
}
