#pragma once
// One place that turns what a user passed to -m (a GGUF path or a library name) into the file
// to load, plus the preset that came with the name (system prompt, template, parameters).
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "library/pull.h"

namespace hearth::library {

// What `hearth run` / `hearth chat` use when no -m is given: a small instruct model (~270 MB),
// pulled on first use.
inline constexpr const char* kDefaultModel = "hf.co/bartowski/SmolLM2-360M-Instruct-GGUF:Q4_K_M";

struct ResolvedModel {
    std::string path;                 // the GGUF to load
    std::string name;                 // the library name (display form), or the path as given
    bool from_library = false;
    std::optional<std::string> system;  // preset system prompt
    std::optional<std::string> tmpl;    // preset chat template override
    nlohmann::ordered_json params = nlohmann::ordered_json::object();  // preset parameters (num_ctx, temperature…)
};

struct ResolveOptions {
    std::string home;               // --home; "" = HEARTH_HOME / default
    bool pull_if_missing = false;   // pull a name that is not in the store yet (run, chat)
    PullEvents events;              // notes and progress while pulling
};

// A path is returned unchanged (not even checked: loading reports a missing file as before).
// A name must be in the store (or is pulled when allowed). Throws hearth::Error otherwise.
ResolvedModel resolve_model(const std::string& name_or_path, const ResolveOptions& options = {});

}  // namespace hearth::library
