// hearth import / list / show / rm: the local model library (see docs/library.md).
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/library_ui.h"
#include "common/error.h"
#include "engine/embed.h"
#include "gguf/gguf.h"
#include "library/model_facts.h"
#include "library/resolve.h"

namespace hearth::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

std::string iso_time(fs::file_time_type t) {
    const auto sys = std::chrono::time_point_cast<std::chrono::seconds>(
        t - fs::file_time_type::clock::now() + std::chrono::system_clock::now());
    const std::time_t tt = std::chrono::system_clock::to_time_t(sys);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// ---- import ----

struct ImportFlags {
    std::string file, name, home;
    bool copy = false, json = false;
};

int run_import(const ImportFlags& f) {
    const library::ModelName name = library::parse_model_name(f.name);
    gguf::File::open(f.file);  // a file that does not load never becomes a model
    library::Store store = open_store(f.home);
    library::Manifest m;
    if (f.copy) {
        m.layers.push_back(store.add_blob_from_file(library::media::kModel, f.file));
    } else {
        library::Layer l;
        l.media_type = library::media::kModel;
        l.path = fs::absolute(f.file).lexically_normal().string();
        l.size = fs::file_size(f.file);
        m.layers.push_back(l);
    }
    m.source = fs::absolute(f.file).lexically_normal().string();
    store.write_manifest(name, m);
    if (f.json) {
        ordered_json j{{"name", name.display()},
                       {"model_file", store.model_file(m, name)},
                       {"by_reference", !f.copy},
                       {"size", m.total_size()}};
        std::printf("%s\n", j.dump(2).c_str());
    } else {
        std::printf("imported %s as %s (%s)\n", f.file.c_str(), name.display().c_str(),
                    f.copy ? "copied into the library" : "by reference: keep the file where it is, or use --copy");
    }
    return 0;
}

// ---- list ----

struct ListFlags {
    std::string home;
    bool json = false;
};

int run_list(const ListFlags& f) {
    library::Store store = open_store(f.home);
    ordered_json models = ordered_json::array();
    std::vector<std::array<std::string, 4>> rows;
    for (const auto& e : store.list()) {
        std::string file, quant = "?", digest;
        try {
            file = store.model_file(e.manifest, e.name);
            quant = library::read_model_facts(file).quantization;
        } catch (const Error&) {
            // A model whose file went away still lists, so it can be removed.
        }
        if (const auto* l = e.manifest.find(library::media::kModel)) digest = l->digest;
        const uint64_t size = e.manifest.total_size();
        models.push_back({{"name", e.name.display()},
                          {"model", e.name.full()},
                          {"size", size},
                          {"quantization", quant},
                          {"modified_at", iso_time(e.modified)},
                          {"digest", digest},
                          {"path", file}});
        rows.push_back({e.name.display(), library::human_size(size), quant, time_ago(e.modified)});
    }
    if (f.json) {
        std::printf("%s\n", ordered_json{{"models", models}}.dump(2).c_str());
        return 0;
    }
    if (rows.empty()) {
        std::printf("no models in %s (add one with hearth pull NAME or hearth import FILE NAME)\n",
                    store.home().c_str());
        return 0;
    }
    size_t w0 = 4, w1 = 4, w2 = 12;
    for (const auto& r : rows) w0 = std::max(w0, r[0].size()), w1 = std::max(w1, r[1].size()), w2 = std::max(w2, r[2].size());
    std::printf("%-*s  %-*s  %-*s  %s\n", int(w0), "NAME", int(w1), "SIZE", int(w2), "QUANTIZATION", "MODIFIED");
    for (const auto& r : rows)
        std::printf("%-*s  %-*s  %-*s  %s\n", int(w0), r[0].c_str(), int(w1), r[1].c_str(), int(w2), r[2].c_str(),
                    r[3].c_str());
    return 0;
}

// ---- show ----

struct ShowFlags {
    std::string name, home;
    bool json = false;
};

void print_block(const char* title, const std::string& text) {
    std::printf("  %s\n", title);
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::printf("    %.*s\n", int(end - start), text.data() + start);
        start = end + 1;
    }
    std::printf("\n");
}

int run_show(const ShowFlags& f) {
    library::ResolveOptions ro;
    ro.home = f.home;
    const library::ResolvedModel model = library::resolve_model(f.name, ro);
    const library::ModelFacts facts = library::read_model_facts(model.path);
    const std::string pooling = describe_pooling(*gguf::File::open(model.path));
    std::optional<library::Manifest> manifest;
    std::optional<library::Store> store;
    if (model.from_library) {
        store.emplace(open_store(f.home));
        manifest = store->read_manifest(library::parse_model_name(f.name));
    }
    // Layers beside the weights: a preset's, or an Ollama registry's (Go template, license).
    auto layer_text = [&](const char* media) -> std::optional<std::string> {
        if (!manifest) return std::nullopt;
        const auto* l = manifest->find(media);
        if (!l) return std::nullopt;
        return store->read_layer_text(*l);
    };
    std::optional<std::string> tmpl = model.tmpl ? model.tmpl : layer_text(library::media::kTemplate);
    if (!tmpl && !facts.chat_template.empty()) tmpl = facts.chat_template;
    std::optional<std::string> license = layer_text(library::media::kLicense);
    if (!license && !facts.license.empty()) license = facts.license;

    if (f.json) {
        ordered_json j;
        j["name"] = model.name;
        j["model_file"] = model.path;
        j["architecture"] = facts.architecture;
        j["parameters"] = facts.parameters;
        j["context_length"] = facts.context_length;
        j["embedding_length"] = facts.embedding_length;
        j["quantization"] = facts.quantization;
        j["embedding_pooling"] = pooling;
        j["params"] = model.params;
        j["system"] = model.system ? ordered_json(*model.system) : ordered_json();
        j["template"] = tmpl ? ordered_json(*tmpl) : ordered_json();
        j["license"] = license ? ordered_json(*license) : ordered_json();
        if (manifest) j["source"] = manifest->source;
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("  Model\n");
    auto row = [](const char* k, const std::string& v) { std::printf("    %-18s %s\n", k, v.c_str()); };
    row("architecture", facts.architecture.empty() ? "?" : facts.architecture);
    row("parameters", library::human_parameters(facts.parameters));
    row("context length", facts.context_length ? std::to_string(facts.context_length) : "?");
    row("embedding length", facts.embedding_length ? std::to_string(facts.embedding_length) : "?");
    row("quantization", facts.quantization);
    row("embedding pooling", pooling);
    row("file", model.path);
    if (manifest && !manifest->source.empty()) row("source", manifest->source);
    std::printf("\n");
    if (!model.params.empty()) {
        std::printf("  Parameters\n");
        for (const auto& [k, v] : model.params.items()) std::printf("    %-18s %s\n", k.c_str(), v.dump().c_str());
        std::printf("\n");
    }
    if (model.system) print_block("System", *model.system);
    if (tmpl) print_block("Template", *tmpl);
    if (license) print_block("License", license->size() > 400 ? license->substr(0, 400) + "…" : *license);
    return 0;
}

// ---- rm ----

struct RmFlags {
    std::vector<std::string> names;
    std::string home;
    bool json = false;
};

int run_rm(const RmFlags& f) {
    library::Store store = open_store(f.home);
    ordered_json removed = ordered_json::array(), freed = ordered_json::array();
    for (const auto& text : f.names) {
        const library::ModelName name = library::parse_model_name(text);
        auto blobs = store.remove(name);
        removed.push_back(name.display());
        for (const auto& b : blobs) freed.push_back(b.string());
        if (!f.json)
            std::printf("deleted '%s'%s\n", name.display().c_str(),
                        blobs.empty() ? " (its files are still used by other models or live outside the library)"
                                      : fmt::format(" ({} file{} freed)", blobs.size(), blobs.size() == 1 ? "" : "s").c_str());
    }
    if (f.json) std::printf("%s\n", ordered_json{{"removed", removed}, {"freed_blobs", freed}}.dump(2).c_str());
    return 0;
}

}  // namespace

CommandRunner add_import_command(CLI::App& app) {
    auto flags = std::make_shared<ImportFlags>();
    CLI::App* cmd = app.add_subcommand("import", "add a local GGUF file to the library under a name");
    cmd->footer(
        "Examples:\n"
        "  hearth import ~/models/tiny.gguf tiny            (by reference: the file stays where it is)\n"
        "  hearth import ~/models/tiny.gguf tiny:v2 --copy  (copied into the library's blobs)\n"
        "Then: hearth run -m tiny -p \"Hello\"");
    cmd->add_option("file", flags->file, "GGUF file")->required();
    cmd->add_option("name", flags->name, "library name, NAME[:TAG]")->required();
    cmd->add_flag("--copy", flags->copy, "copy the file into the library instead of referring to it");
    add_home_flag(*cmd, flags->home);
    cmd->add_flag("--json", flags->json, "print the result as JSON");
    return [flags] { return run_import(*flags); };
}

CommandRunner add_list_command(CLI::App& app) {
    auto flags = std::make_shared<ListFlags>();
    CLI::App* cmd = app.add_subcommand("list", "list the models in the library");
    cmd->alias("ls");
    cmd->footer("Columns: name, size on disk, quantization (from the GGUF), when it was added or changed.");
    add_home_flag(*cmd, flags->home);
    cmd->add_flag("--json", flags->json, "print {\"models\": [...]} as JSON");
    return [flags] { return run_list(*flags); };
}

CommandRunner add_show_command(CLI::App& app) {
    auto flags = std::make_shared<ShowFlags>();
    CLI::App* cmd = app.add_subcommand("show", "describe a library model (or a GGUF file)");
    cmd->footer(
        "Shows architecture, parameters, context length, quantization, and the preset's parameters,\n"
        "system prompt, chat template and license. For every metadata key use hearth info -m.");
    cmd->add_option("name", flags->name, "library name or GGUF path")->required();
    add_home_flag(*cmd, flags->home);
    cmd->add_flag("--json", flags->json, "print as JSON");
    return [flags] { return run_show(*flags); };
}

CommandRunner add_rm_command(CLI::App& app) {
    auto flags = std::make_shared<RmFlags>();
    CLI::App* cmd = app.add_subcommand("rm", "remove models from the library");
    cmd->footer(
        "Removes the names; a downloaded file is deleted only when no other name uses it. Files added\n"
        "with hearth import (without --copy) are never deleted.");
    cmd->add_option("names", flags->names, "library names")->required();
    add_home_flag(*cmd, flags->home);
    cmd->add_flag("--json", flags->json, "print what was removed and freed as JSON");
    return [flags] { return run_rm(*flags); };
}

}  // namespace hearth::cli
