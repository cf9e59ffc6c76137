#pragma once
// Flags shared by several commands, with the same names, defaults and checks everywhere.
#include <CLI/CLI.hpp>

#include <string>

#include "engine/session.h"

namespace hearth::cli {

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

// Parses "f16" / "f32".
ops::KvType parse_kv_type(const std::string& name);

// Writes `bytes` to `path` through a temporary file and a rename, so a failure never leaves
// a half-written file behind.
void write_file_atomically(const std::string& path, const void* bytes, size_t size);

}  // namespace hearth::cli
