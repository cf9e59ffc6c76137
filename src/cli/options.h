#pragma once
// Flags shared by several commands, with the same names, defaults and checks everywhere.
#include <CLI/CLI.hpp>

#include <string>

#include "engine/session.h"
#include "sample/sampler.h"

namespace hearth {
struct LoadedModel;
}

namespace hearth::cli {

// Prints the loader's warnings to stderr, one line each.
void print_warnings(const LoadedModel& model);

struct ModelFlag {
    std::string path;
    void add(CLI::App& cmd);
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
