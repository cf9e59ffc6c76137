#pragma once
// A small Modelfile-like preset format for `hearth create NAME -f FILE`:
//   # comment
//   FROM llama3.2:1b            (a library name or a GGUF path; required, once)
//   SYSTEM You are terse.       (or SYSTEM """several lines""")
//   TEMPLATE """{{ ... }}"""    (a chat template override, Jinja2 like the GGUF's)
//   PARAMETER temperature 0.7   (num_ctx, num_predict, temperature, top_k, top_p, min_p,
//   PARAMETER num_ctx 2048       repeat_penalty, repeat_last_n, seed, stop)
//   LICENSE """..."""
// Instructions are case-insensitive. Anything else is an error naming the line.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hearth::library {

struct Modelfile {
    std::string from;
    std::optional<std::string> system;
    std::optional<std::string> tmpl;
    std::optional<std::string> license;
    nlohmann::ordered_json params = nlohmann::ordered_json::object();  // name -> number (stop -> array)
};

// Throws hearth::Error "<label>:<line>: <problem>".
Modelfile parse_modelfile(std::string_view text, const std::string& label);

}  // namespace hearth::library
