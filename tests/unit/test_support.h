#pragma once
// Helpers shared by the unit tests: where ../shared is, and skipping when it is absent.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hearth::test {

// Absolute path of ../shared (beside the repository), fixed at configure time.
std::filesystem::path shared_dir();
// shared_dir() / relative, or "" when that file does not exist.
std::string shared_path(const std::string& relative);
// Reads a whole file as bytes.
std::string read_file(const std::filesystem::path& path);
std::vector<float> read_f32_file(const std::filesystem::path& path);
// A fresh empty directory under the system temp dir, unique per test.
std::filesystem::path temp_dir();

// Writes the synthetic "tiny" llama model (random F32 weights, real tokenizer metadata) to
// `path`: a model every test can load without ../shared.
void write_tiny_model(const std::filesystem::path& path);

// Resolves a file in ../shared or skips the current test with a clear message.
#define HEARTH_SHARED_OR_SKIP(var, relative)                                          \
    const std::string var = ::hearth::test::shared_path(relative);                    \
    if (var.empty()) GTEST_SKIP() << "../shared/" << (relative)                       \
                                  << " not found (tests that need ../shared skip without it)"

}  // namespace hearth::test
