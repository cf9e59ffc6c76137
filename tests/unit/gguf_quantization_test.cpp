// The one quantization label of a GGUF file, and that `hearth show` (library::read_model_facts)
// and the server's /api/show report the same label for every model in ../shared/models.
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/loader.h"
#include "gguf/gguf.h"
#include "gguf/quantization.h"
#include "gguf/writer.h"
#include "library/model_facts.h"
#include "serve/server.h"
#include "test_support.h"

namespace hearth::gguf {
namespace {

constexpr uint32_t kF32 = 0, kF16 = 1, kQ8_0 = 8;

// A file of the given tensors (all zero bytes); `meta` adds metadata.
std::string label_of(const std::vector<std::tuple<std::string, uint32_t, std::vector<int64_t>>>& tensors,
                     const std::function<void(Writer&)>& meta = {}) {
    Writer w;
    if (meta) meta(w);
    for (const auto& [name, type, dims] : tensors) {
        int64_t n = 1;
        for (int64_t d : dims) n *= d;
        const size_t bytes = type == kF32 ? n * 4 : type == kF16 ? n * 2 : n / 32 * 34;
        w.add_tensor(name, type, dims, std::vector<uint8_t>(bytes));
    }
    const std::vector<uint8_t> data = w.to_bytes();
    auto file = File::parse("test.gguf", data.data(), data.size());
    return quantization_label(*file);
}

TEST(GgufQuantization, FileTypeNamesFollowLlamaCpp) {
    EXPECT_STREQ(file_type_name(0), "F32");
    EXPECT_STREQ(file_type_name(1), "F16");
    EXPECT_STREQ(file_type_name(7), "Q8_0");
    EXPECT_STREQ(file_type_name(15), "Q4_K_M");
    EXPECT_STREQ(file_type_name(32), "BF16");
    EXPECT_STREQ(file_type_name(38), "MXFP4_MOE");
    // Retired and undefined values have no name.
    EXPECT_EQ(file_type_name(4), nullptr);
    EXPECT_EQ(file_type_name(34), nullptr);
    EXPECT_EQ(file_type_name(1000), nullptr);
}

TEST(GgufQuantization, FileTypeValuesAreTheReverseLookup) {
    EXPECT_EQ(file_type_value("Q4_K_M"), 15u);
    EXPECT_EQ(file_type_value("MXFP4_MOE"), 38u);
    EXPECT_EQ(file_type_value("F32"), 0u);
    for (uint64_t v = 0; v < 64; ++v)
        if (const char* name = file_type_name(v)) {
            EXPECT_EQ(file_type_value(name), v) << name;
        }
    EXPECT_EQ(file_type_value("q4_k_m"), std::nullopt);  // names are llama.cpp's spelling exactly
    EXPECT_EQ(file_type_value("Q4_K"), std::nullopt);
    EXPECT_EQ(file_type_value(""), std::nullopt);
}

TEST(GgufQuantization, GeneralFileTypeWins) {
    // The biggest matrix is F32, but the file says Q4_K_M: the file is believed.
    EXPECT_EQ(label_of({{"a", kF32, {64, 64}}}, [](Writer& w) { w.set("general.file_type", make::u32(15)); }),
              "Q4_K_M");
}

TEST(GgufQuantization, WithoutFileTypeTheBiggestMatrixTypeIsTheLabel) {
    // 1-D tensors do not count: the F32 vector is bigger than the Q8_0 matrix but is a norm.
    EXPECT_EQ(label_of({{"norm", kF32, {4096}}, {"w", kQ8_0, {64, 4}}, {"v", kF16, {32, 2}}}), "Q8_0");
    EXPECT_EQ(label_of({{"w", kQ8_0, {64, 2}}, {"v", kF16, {64, 4}}}), "F16");
}

TEST(GgufQuantization, BadOrUnknownFileTypeFallsBackToTheTensors) {
    EXPECT_EQ(label_of({{"w", kQ8_0, {64, 2}}}, [](Writer& w) { w.set("general.file_type", make::u32(999)); }),
              "Q8_0");
    EXPECT_EQ(label_of({{"w", kQ8_0, {64, 2}}},
                       [](Writer& w) { w.set("general.file_type", make::string("Q4_K_M")); }),
              "Q8_0");
}

TEST(GgufQuantization, NoMatricesIsUnknown) {
    EXPECT_EQ(label_of({}), "unknown");
    EXPECT_EQ(label_of({{"norm", kF32, {8}}}), "unknown");
}

// `hearth show` and /api/show used to compute the label in two ways (general.file_type first
// vs. the biggest type including vectors); now both call quantization_label.
TEST(GgufQuantization, LibraryAndServerAgreeOnTheSharedModels) {
    HEARTH_SHARED_OR_SKIP(dir, "models");
    int compared = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".gguf") continue;
        const std::string path = entry.path().string();
        SCOPED_TRACE(path);
        LoadedModel lm;
        try {
            lm = load_model(path);
        } catch (const Error& e) {
            continue;  // a file the engine refuses cannot be served
        }
        const std::string from_library = library::read_model_facts(path).quantization;
        EXPECT_EQ(from_library, quantization_label(*lm.file));

        serve::ServerOptions o;
        o.port = 0;
        o.scheduler.n_slots = 1;
        o.scheduler.n_ctx = 64;
        o.scheduler.n_threads = 1;
        serve::Server server(std::move(lm), o);
        const int port = server.bind();
        std::thread t([&] { server.listen(); });
        httplib::Client client("127.0.0.1", port);
        const std::string body = nlohmann::json{{"model", server.model_name()}}.dump();
        auto res = client.Post("/api/show", body, "application/json");
        server.stop();
        t.join();
        ASSERT_TRUE(res);
        ASSERT_EQ(res->status, 200) << res->body;
        const auto show = nlohmann::json::parse(res->body);
        EXPECT_EQ(show["details"]["quantization_level"], from_library);
        ++compared;
    }
    EXPECT_GE(compared, 5);
}

}  // namespace
}  // namespace hearth::gguf
