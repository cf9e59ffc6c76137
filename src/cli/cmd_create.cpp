// hearth create: a named preset (base model + system prompt, template, parameters) from a small
// Modelfile-like file. The weights are shared, never copied: the new manifest points at the
// base model's blob (or file) and adds small text layers.
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "chat/template.h"
#include "cli/commands.h"
#include "cli/library_ui.h"
#include "cli/options.h"
#include "common/error.h"
#include "gguf/gguf.h"
#include "library/modelfile.h"
#include "library/resolve.h"

namespace hearth::cli {
namespace {

namespace fs = std::filesystem;

struct CreateFlags {
    std::string name, file, home;
    bool json = false;
};

int run(const CreateFlags& f) {
    const library::ModelName name = library::parse_model_name(f.name);
    const library::Modelfile mf = library::parse_modelfile(read_input_file(f.file, "Modelfile"), f.file);
    library::Store store = open_store(f.home);

    library::Manifest m;
    nlohmann::ordered_json params = nlohmann::ordered_json::object();
    if (library::is_file_path(mf.from)) {
        // A relative path is relative to the Modelfile, so a preset folder can be moved as one.
        fs::path p = mf.from;
        if (p.is_relative()) p = fs::absolute(f.file).parent_path() / p;
        p = p.lexically_normal();
        gguf::File::open(p.string());
        library::Layer l;
        l.media_type = library::media::kModel;
        l.path = p.string();
        l.size = fs::file_size(p);
        m.layers.push_back(l);
        m.source = p.string();
    } else {
        const library::ModelName base = library::parse_model_name(mf.from);
        auto bm = store.read_manifest(base);
        if (!bm) fail("{}: FROM {}: that model is not in the library (hearth pull {} first)", f.file, mf.from, mf.from);
        // Keep the base's layers (weights, license, its own params) unless the file overrides them.
        for (const auto& l : bm->layers) {
            if (l.media_type == library::media::kParams) {
                auto j = nlohmann::ordered_json::parse(store.read_layer_text(l), nullptr, false);
                if (j.is_object()) params = j;
                continue;
            }
            if ((l.media_type == library::media::kSystem && mf.system) ||
                (l.media_type == library::media::kLicense && mf.license) ||
                ((l.media_type == library::media::kTemplate || l.media_type == library::media::kJinjaTemplate) &&
                 mf.tmpl))
                continue;
            m.layers.push_back(l);
        }
        m.config = bm->config;
        m.source = base.display();
    }
    for (const auto& [k, v] : mf.params.items()) params[k] = v;
    if (mf.tmpl) {
        try {
            chat::ChatTemplate::parse(*mf.tmpl);
        } catch (const std::exception& e) {
            fail("{}: TEMPLATE is not a valid Jinja2 chat template: {}", f.file, e.what());
        }
        m.layers.push_back(store.add_blob(library::media::kJinjaTemplate, *mf.tmpl));
    }
    if (mf.system) m.layers.push_back(store.add_blob(library::media::kSystem, *mf.system));
    if (mf.license) m.layers.push_back(store.add_blob(library::media::kLicense, *mf.license));
    if (!params.empty()) m.layers.push_back(store.add_blob(library::media::kParams, params.dump()));
    store.write_manifest(name, m);
    if (f.json) {
        nlohmann::ordered_json j{{"name", name.display()}, {"from", mf.from}, {"params", params}};
        std::printf("%s\n", j.dump(2).c_str());
    } else {
        std::printf("created %s from %s\n", name.display().c_str(), mf.from.c_str());
    }
    return 0;
}

}  // namespace

CommandRunner add_create_command(CLI::App& app) {
    auto flags = std::make_shared<CreateFlags>();
    CLI::App* cmd = app.add_subcommand("create", "make a named preset of a model from a Modelfile");
    cmd->footer(
        "Modelfile (instructions are case-insensitive; # starts a comment):\n"
        "  FROM llama3.2:1b              a library name, or a GGUF path (relative to the Modelfile)\n"
        "  SYSTEM You are a pirate.      or SYSTEM \"\"\"several lines\"\"\"\n"
        "  PARAMETER temperature 0.7     also num_ctx, num_predict, top_k, top_p, min_p,\n"
        "  PARAMETER num_ctx 2048        repeat_penalty, repeat_last_n, seed, stop\n"
        "  TEMPLATE \"\"\"...\"\"\"            a Jinja2 chat template used instead of the model's\n"
        "  LICENSE \"\"\"...\"\"\"\n"
        "Then: hearth chat -m NAME   (flags given on the command line still win)");
    cmd->add_option("name", flags->name, "name for the preset, NAME[:TAG]")->required();
    cmd->add_option("-f,--file", flags->file, "the Modelfile")->required();
    add_home_flag(*cmd, flags->home);
    cmd->add_flag("--json", flags->json, "print the result as JSON");
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
