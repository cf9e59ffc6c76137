#include "test_support.h"

#include "convert/synth.h"

#include <cstdlib>
#include <cstring>
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

void write_tiny_model(const std::filesystem::path& path) {
    convert::SynthOptions o;
    o.preset = convert::find_model_preset("tiny");
    o.mix = &convert::find_quant_mix("F32");
    convert::synthesize_model(o, path.string());
}

}  // namespace hearth::test
