#include "test_support.h"

#include "convert/synth.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <limits>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

namespace hearth::test {

std::filesystem::path shared_dir() {
    if (const char* env = std::getenv("HEARTH_SHARED_DIR")) return env;
    return HEARTH_SHARED_DIR;
}

std::string shared_path(const std::string& relative) {
    auto p = shared_dir() / relative;
    std::error_code ec;
    return std::filesystem::exists(p, ec) ? p.string() : std::string();
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<float> read_f32_file(const std::filesystem::path& path) {
    std::string bytes = read_file(path);
    std::vector<float> out(bytes.size() / sizeof(float));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return out;
}

namespace {

// Removes the directories temp_dir() made when the test process exits (ctest runs one test
// per process); HEARTH_KEEP_TEST_DIRS=1 keeps them for a post-mortem.
struct TempDirCleaner {
    std::vector<std::filesystem::path> dirs;
    ~TempDirCleaner() {
        const char* keep = std::getenv("HEARTH_KEEP_TEST_DIRS");
        if (keep != nullptr && std::string(keep) == "1") return;
        for (const auto& d : dirs) {
            std::error_code ec;
            std::filesystem::remove_all(d, ec);
        }
    }
};

TempDirCleaner& cleaner() {
    static TempDirCleaner instance;
    return instance;
}

}  // namespace

std::filesystem::path temp_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "hearth";
    std::random_device rd;
    auto dir = std::filesystem::temp_directory_path() /
               ("hearth-test-" + name + "-" + std::to_string(rd()));
    std::filesystem::create_directories(dir);
    cleaner().dirs.push_back(dir);
    return dir;
}

size_t argmax(std::span<const float> row) {
    return static_cast<size_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

double top1_margin(std::span<const float> row) {
    const size_t best = argmax(row);
    float second = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < row.size(); ++i)
        if (i != best) second = std::max(second, row[i]);
    return static_cast<double>(row[best]) - second;
}

LogitsDiff compare_logits(std::span<const float> got, std::span<const float> want, size_t n_vocab) {
    LogitsDiff d;
    EXPECT_EQ(got.size(), want.size()) << "logits of different sizes";
    EXPECT_TRUE(n_vocab > 0 && got.size() % n_vocab == 0) << got.size() << " logits are not rows of " << n_vocab;
    const size_t n = std::min(got.size(), want.size());
    if (n == 0 || n_vocab == 0) return d;
    double sum_sq = 0;
    for (size_t i = 0; i < n; ++i) {
        const double diff = std::fabs(static_cast<double>(got[i]) - want[i]);
        d.max_abs = std::max(d.max_abs, diff);
        sum_sq += diff * diff;
    }
    d.rms = std::sqrt(sum_sq / static_cast<double>(n));
    for (size_t row = 0; row < n / n_vocab; ++row) {
        d.got_top1.push_back(argmax(got.subspan(row * n_vocab, n_vocab)));
        d.want_top1.push_back(argmax(want.subspan(row * n_vocab, n_vocab)));
        d.top1_agree += d.top1_equal(row);
    }
    return d;
}

std::ostream& operator<<(std::ostream& os, const LogitsDiff& d) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "max abs %.6f, rms %.6f, top-1 %zu/%zu", d.max_abs, d.rms, d.top1_agree, d.rows());
    return os << buf;
}

void write_tiny_model(const std::filesystem::path& path) {
    convert::SynthOptions o;
    o.preset = convert::find_model_preset("tiny");
    o.mix = &convert::find_quant_mix("F32");
    convert::synthesize_model(o, path.string());
}

}  // namespace hearth::test
