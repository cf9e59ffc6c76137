#pragma once
// Flags shared by several commands, with the same names, defaults and checks everywhere.
#include <CLI/CLI.hpp>

#include <string>

#include "engine/session.h"
#include "library/resolve.h"
#include "sample/sampler.h"

namespace hearth {
struct LoadedModel;
}

namespace hearth::cli {

// Prints the loader's warnings to stderr, one line each.
void print_warnings(const LoadedModel& model);

struct SessionFlags;

// -m/--model: a GGUF path or a library name (llama3.2:1b, hf.co/OWNER/REPO:Q4_K_M, a name made
// with hearth create), plus --home for the library. A path is used exactly as given.
struct ModelFlag {
    std::string path;  // what -m said
    std::string home;  // --home
    // When set (run, chat), -m is optional and this name is used without it; names missing
    // from the library are pulled on first use.
    const char* default_name = nullptr;
    // When set (serve), -m is optional and resolve() is not called without it.
    bool optional = false;
    void add(CLI::App& cmd);
    // The GGUF to load and the preset that came with the name. Throws hearth::Error.
    library::ResolvedModel resolve(bool quiet = false) const;  // quiet: no pull notes or progress bar
    // Fills in the preset's num_ctx, num_predict and sampling values for the flags the user
    // did not give on the command line.
    void apply_preset(const library::ResolvedModel& model, SessionFlags& session, SamplingParams& sampling,
                      std::string& seed, int& n_predict) const;

private:
    const CLI::App* cmd_ = nullptr;
};

struct SessionFlags {
    int n_ctx = 0;
    int n_threads = 0;
    int n_batch = 512;
    std::string kv_type = "f16";
    void add(CLI::App& cmd);
    // Throws hearth::Error for a bad --kv-type.
    SessionOptions to_options() const;
};

// --temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n and --seed (kept as
// text so the command can check its range), the same for every generating command.
void add_sampling_flags(CLI::App& cmd, SamplingParams& sampling, std::string& seed);

// --grammar-file, --grammar, --json-schema (a file or inline JSON), --json: at most one.
struct GrammarFlags {
    std::string grammar_file;
    std::string grammar;
    std::string json_schema;
    bool json = false;
    void add(CLI::App& cmd);
    // The GBNF text the flags ask for, already checked (parsed); "" when none was given.
    // Throws hearth::Error naming the flag and what is wrong, before any model is loaded.
    std::string gbnf() const;
};

// --seed and the like: -1 (random) or any unsigned 64-bit value but the one that means random.
// Parsed by hand because CLI11 2.1's integer conversion silently saturates out-of-range values.
// Throws hearth::Error naming `what`.
uint64_t parse_seed(const std::string& text, const char* what = "--seed");

// Parses "f16" / "f32".
ops::KvType parse_kv_type(const std::string& name);

// Reads a whole file (prompt or text input) as bytes, exactly. Throws hearth::Error naming the
// file when it cannot be opened or read, or is a directory (which std::ifstream would
// otherwise read as empty on Linux).
std::string read_input_file(const std::string& path, const char* what);

// Writes `bytes` to `path` through a temporary file and a rename, so a failure never leaves
// a half-written file behind.
void write_file_atomically(const std::string& path, const void* bytes, size_t size);

}  // namespace hearth::cli
