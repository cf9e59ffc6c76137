#include "cli/options.h"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unistd.h>

#include "common/error.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "cli/library_ui.h"
#include "engine/loader.h"

namespace hearth::cli {

void ModelFlag::add(CLI::App& cmd) {
    cmd_ = &cmd;
    auto* m = cmd.add_option("-m,--model", path, "GGUF model file, or a library name (see hearth list)");
    if (default_name) m->description(fmt::format("GGUF model file, or a library name (default: {})", default_name));
    else if (!optional) m->required();
    cmd.add_option("--home", home, "model library folder (default: $HEARTH_HOME, else ~/.local/share/hearth)");
}

library::ResolvedModel ModelFlag::resolve(bool quiet) const {
    library::ResolveOptions options;
    options.home = home;
    options.pull_if_missing = default_name != nullptr;
    std::string name = path;
    if (name.empty() && default_name) {
        name = default_name;
        library::Store store(library::Store::default_home(home));
        if (!quiet && !store.read_manifest(library::parse_model_name(name)))
            std::fprintf(stderr,
                         "hearth: no -m given: downloading the default model %s once (a small instruct model, "
                         "about 270 MB) into %s; pass -m FILE.gguf or -m NAME to use another\n",
                         name.c_str(), store.home().c_str());
    }
    options.events = pull_events(quiet, std::make_shared<ProgressBar>(quiet));
    return library::resolve_model(name, options);
}

void ModelFlag::apply_preset(const library::ResolvedModel& model, SessionFlags& session, SamplingParams& sampling,
                             std::string& seed, int& n_predict) const {
    const auto& p = model.params;
    if (p.empty() || !cmd_) return;
    auto given = [&](const char* flag) { return cmd_->count(flag) > 0; };
    // Values come from a file (or a registry): clamp before converting, never overflow.
    auto number = [&](const char* key) -> std::optional<double> {
        auto it = p.find(key);
        if (it == p.end() || !it->is_number()) return std::nullopt;
        return std::clamp(it->get<double>(), -2147483648.0, 2147483647.0);
    };
    auto as_int = [](double v) { return static_cast<int>(v); };
    if (auto v = number("num_ctx"); v && !given("--ctx-size")) session.n_ctx = as_int(*v);
    if (auto v = number("num_predict"); v && !given("--n-predict")) n_predict = as_int(*v);
    if (auto v = number("temperature"); v && !given("--temp")) sampling.temperature = static_cast<float>(*v);
    if (auto v = number("top_k"); v && !given("--top-k")) sampling.top_k = as_int(*v);
    if (auto v = number("top_p"); v && !given("--top-p")) sampling.top_p = static_cast<float>(*v);
    if (auto v = number("min_p"); v && !given("--min-p")) sampling.min_p = static_cast<float>(*v);
    if (auto v = number("repeat_penalty"); v && !given("--repeat-penalty")) sampling.repeat_penalty = static_cast<float>(*v);
    if (auto v = number("repeat_last_n"); v && !given("--repeat-last-n")) sampling.repeat_last_n = as_int(*v);
    if (auto it = p.find("seed"); it != p.end() && it->is_number_integer() && !given("--seed"))
        seed = it->is_number_unsigned() ? std::to_string(it->get<uint64_t>()) : "-1";
}

void SessionFlags::add(CLI::App& cmd) {
    cmd.add_option("-c,--ctx-size", n_ctx,
                   "context size in tokens (default: the model's, at most 4096)");
    cmd.add_option("-t,--threads", n_threads, "threads to compute with (default: one per physical core)");
    cmd.add_option("-b,--batch-size", n_batch, "prompt tokens per forward pass")->capture_default_str();
    cmd.add_option("--kv-type", kv_type, "KV cache element type: f16 or f32")->capture_default_str();
}

void GrammarFlags::add(CLI::App& cmd) {
    auto* file = cmd.add_option("--grammar-file", grammar_file,
                                "constrain the output to a GBNF grammar read from this file (docs/grammar.md)");
    auto* text = cmd.add_option("--grammar", grammar, "constrain the output to this GBNF grammar text");
    auto* schema = cmd.add_option("--json-schema", json_schema,
                                  "constrain the output to JSON matching this JSON Schema (a file, or inline JSON "
                                  "starting with '{')");
    auto* json_flag = cmd.add_flag("--json", json, "constrain the output to a JSON object");
    file->excludes(text)->excludes(schema)->excludes(json_flag);
    text->excludes(schema)->excludes(json_flag);
    schema->excludes(json_flag);
}

std::string GrammarFlags::gbnf() const {
    std::string flag, text;
    try {
        if (!grammar_file.empty()) {
            flag = "--grammar-file " + grammar_file;
            text = read_input_file(grammar_file, "grammar file");
        } else if (!grammar.empty()) {
            flag = "--grammar";
            text = grammar;
        } else if (!json_schema.empty()) {
            const size_t start = json_schema.find_first_not_of(" \t\r\n");
            const bool inline_json = start != std::string::npos && json_schema[start] == '{';
            flag = inline_json ? "--json-schema" : "--json-schema " + json_schema;
            const std::string schema_text = inline_json ? json_schema : read_input_file(json_schema, "JSON schema file");
            nlohmann::ordered_json schema;
            try {
                schema = nlohmann::ordered_json::parse(schema_text);
            } catch (const nlohmann::json::exception& e) {
                fail("not valid JSON: {}", e.what());
            }
            text = grammar::schema_to_gbnf(schema);
        } else if (json) {
            flag = "--json";
            text = grammar::json_gbnf();
        } else {
            return "";
        }
        grammar::parse_gbnf(text);  // errors now, before a model is loaded
    } catch (const Error& e) {
        fail("{}: {}", flag, e.what());
    }
    return text;
}

void add_sampling_flags(CLI::App& cmd, SamplingParams& s, std::string& seed) {
    cmd.add_option("--temp", s.temperature, "temperature; 0 = greedy (argmax)")->capture_default_str();
    cmd.add_option("--top-k", s.top_k, "keep the k most likely tokens (0 = off)")->capture_default_str();
    cmd.add_option("--top-p", s.top_p, "keep the smallest set with this probability mass (1 = off)")
        ->capture_default_str();
    cmd.add_option("--min-p", s.min_p, "drop tokens below this fraction of the top probability (0 = off)")
        ->capture_default_str();
    cmd.add_option("--repeat-penalty", s.repeat_penalty, "penalty for recently seen tokens (1 = off)")
        ->capture_default_str();
    cmd.add_option("--repeat-last-n", s.repeat_last_n, "how many recent tokens the penalty looks at")
        ->capture_default_str();
    cmd.add_option("--seed", seed, "random seed for sampling (-1 = random)")->capture_default_str();
}

ops::KvType parse_kv_type(const std::string& name) {
    if (name == "f16") return ops::KvType::F16;
    if (name == "f32") return ops::KvType::F32;
    fail("--kv-type '{}' is not supported (use f16 or f32)", name);
}

SessionOptions SessionFlags::to_options() const {
    SessionOptions o;
    if (n_ctx < 0) fail("-c/--ctx-size must be positive (got {})", n_ctx);
    if (n_threads < 0) fail("-t/--threads must be positive (got {})", n_threads);
    if (n_batch <= 0) fail("-b/--batch-size must be positive (got {})", n_batch);
    o.n_ctx = n_ctx;
    o.n_threads = n_threads;
    o.n_batch = n_batch;
    o.kv_type = parse_kv_type(kv_type);
    return o;
}

std::string read_input_file(const std::string& path, const char* what) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail("{}: cannot read the {}: it is a directory", path, what);
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot read the {}: {}", path, what, std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) fail("{}: cannot read the {}: {}", path, what, std::strerror(errno));
    return ss.str();
}

void write_file_atomically(const std::string& path, const void* bytes, size_t size) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail("{}: cannot create the output file: {}", path, std::strerror(errno));
    bool ok = std::fwrite(bytes, 1, size, f) == size;
    ok = (std::fflush(f) == 0) && ok;
    int err = errno;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) {
        std::remove(tmp.c_str());
        fail("{}: write failed: {}", path, std::strerror(err));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        err = errno;
        std::remove(tmp.c_str());
        fail("{}: cannot rename the finished file into place: {}", path, std::strerror(err));
    }
}

void print_warnings(const LoadedModel& model) {
    for (const auto& w : model.warnings) std::fprintf(stderr, "hearth: warning: %s\n", w.c_str());
}

uint64_t parse_seed(const std::string& text, const char* what) {
    if (text == "-1") return SamplingParams::kRandomSeed;
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v == SamplingParams::kRandomSeed)
        fail("{} must be -1 (random) or an integer in [0, {}], got '{}'", what, SamplingParams::kRandomSeed - 1, text);
    return v;
}

}  // namespace hearth::cli
