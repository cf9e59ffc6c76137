// hearth pull: fetch a model into the library by name, from Hugging Face (hf.co/OWNER/REPO:QUANT)
// or an Ollama-protocol registry (NAME[:TAG]), verified by sha256 and resumable.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/library_ui.h"
#include "common/error.h"
#include "library/resolve.h"

namespace hearth::cli {
namespace {

struct PullFlags {
    std::string name;
    std::string home;
    bool quiet = false;
    bool json = false;
};

int run(const PullFlags& f) {
    const library::ModelName name = library::parse_model_name(f.name);
    library::Store store = open_store(f.home);
    const bool quiet = f.quiet || f.json;
    auto bar = std::make_shared<ProgressBar>(quiet);
    library::PullResult r = library::pull(store, name, pull_events(quiet, bar));
    const library::Layer* model = r.manifest.find(library::media::kModel);
    if (f.json) {
        nlohmann::ordered_json j;
        j["name"] = name.display();
        j["model_file"] = r.model_file;
        j["digest"] = model ? model->digest : "";
        j["size"] = r.manifest.total_size();
        j["downloaded_bytes"] = r.downloaded_bytes;
        j["source"] = r.manifest.source;
        std::printf("%s\n", j.dump(2).c_str());
    } else if (!f.quiet) {
        std::printf("%s %s (%s): %s\n", r.downloaded_bytes ? "pulled" : "up to date:", name.display().c_str(),
                    library::human_size(r.manifest.total_size()).c_str(), r.model_file.c_str());
    }
    return 0;
}

}  // namespace

CommandRunner add_pull_command(CLI::App& app) {
    auto flags = std::make_shared<PullFlags>();
    CLI::App* cmd = app.add_subcommand("pull", "download a model into the library by name");
    cmd->footer(
        "Names:\n"
        "  hf.co/OWNER/REPO[:QUANT]   a Hugging Face repository of GGUF files; QUANT picks the file\n"
        "                             (case-insensitive, default Q4_K_M)\n"
        "  NAME[:TAG]                 the Ollama registry (library/NAME, TAG defaults to latest)\n"
        "Examples:\n"
        "  hearth pull hf.co/bartowski/SmolLM2-360M-Instruct-GGUF:Q8_0\n"
        "  hearth pull qwen2.5:0.5b\n"
        "Downloads resume where they stopped (run the same pull again) and are checked against their\n"
        "sha256 before they become a model. HF_ENDPOINT and HEARTH_REGISTRY change the hosts;\n"
        "HF_TOKEN is sent to Hugging Face for gated repositories.");
    cmd->add_option("name", flags->name, "model name")->required();
    add_home_flag(*cmd, flags->home);
    cmd->add_flag("-q,--quiet", flags->quiet, "no progress bar or notes");
    cmd->add_flag("--json", flags->json, "print the result as JSON (implies --quiet)");
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
