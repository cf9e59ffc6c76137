#pragma once
// Helpers shared by the unit tests: where ../shared is, and skipping when it is absent.
#include <cstddef>
#include <filesystem>
#include <ostream>
#include <span>
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

// How far logits `got` are from a reference `want`, both [rows][n_vocab] (the golden tests'
// comparison: each test keeps its own limits and says which rows' top-1 must agree).
struct LogitsDiff {
    double max_abs = 0;               // the largest |got − want|
    double rms = 0;                   // root mean square of got − want over every logit
    std::vector<size_t> got_top1;     // argmax of each row of got
    std::vector<size_t> want_top1;    // argmax of each row of want
    size_t top1_agree = 0;            // rows whose argmaxes are equal
    size_t rows() const { return got_top1.size(); }
    bool top1_equal(size_t row) const { return got_top1[row] == want_top1[row]; }
};
// The sizes must be equal and a multiple of n_vocab (a test failure otherwise).
LogitsDiff compare_logits(std::span<const float> got, std::span<const float> want, size_t n_vocab);
// "max abs 0.001234, rms 0.000123, top-1 9/10": for failure messages and the tests' printouts.
std::ostream& operator<<(std::ostream& os, const LogitsDiff& d);

// The index of a row's largest value (the first of equal ones), and how far it is above the next.
size_t argmax(std::span<const float> row);
double top1_margin(std::span<const float> row);

// Resolves a file in ../shared or skips the current test with a clear message.
#define HEARTH_SHARED_OR_SKIP(var, relative)                                          \
    const std::string var = ::hearth::test::shared_path(relative);                    \
    if (var.empty()) GTEST_SKIP() << "../shared/" << (relative)                       \
                                  << " not found (tests that need ../shared skip without it)"

}  // namespace hearth::test
