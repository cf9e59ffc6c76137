#pragma once
// Each subcommand registers its flags on the app and runs when chosen. Front-end only:
// parse, validate, call libhearth, print.
#include <CLI/CLI.hpp>

#include <functional>

namespace hearth::cli {

// Registers a subcommand; returns the function that runs it after parsing (exit code).
using CommandRunner = std::function<int()>;
CommandRunner add_run_command(CLI::App& app);
CommandRunner add_info_command(CLI::App& app);
CommandRunner add_tokenize_command(CLI::App& app);
CommandRunner add_eval_command(CLI::App& app);
CommandRunner add_embed_command(CLI::App& app);
CommandRunner add_bench_command(CLI::App& app);
CommandRunner add_synth_command(CLI::App& app);
CommandRunner add_quantize_command(CLI::App& app);
CommandRunner add_template_command(CLI::App& app);
CommandRunner add_chat_command(CLI::App& app);
CommandRunner add_serve_command(CLI::App& app);
CommandRunner add_fit_command(CLI::App& app);
// The model library (src/library, docs/library.md).
CommandRunner add_pull_command(CLI::App& app);
CommandRunner add_import_command(CLI::App& app);
CommandRunner add_list_command(CLI::App& app);
CommandRunner add_show_command(CLI::App& app);
CommandRunner add_rm_command(CLI::App& app);
CommandRunner add_create_command(CLI::App& app);
CommandRunner add_ps_command(CLI::App& app);
CommandRunner add_eval_cost_command(CLI::App& app);
CommandRunner add_perplexity_command(CLI::App& app);

}  // namespace hearth::cli
