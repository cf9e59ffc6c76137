// Smoke test of `hearth bench` (the command stays working; no speed is asserted here —
// speed targets live in bench/ and docs/performance.md).
#include <nlohmann/json.hpp>

#include "process.h"
#include "test_support.h"

namespace hearth {
namespace {

using test::run_hearth;

TEST(CliBench, JsonHasLlamaBenchFieldsAndOurOwn) {
    HEARTH_SHARED_OR_SKIP(model, "models/stories260K.gguf");
    test::ProcessResult r = run_hearth({"bench", "-m", model, "-p", "16", "-n", "8", "-r", "2", "-t", "1,2",
                                        "--json", "--no-bandwidth", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    ASSERT_TRUE(j.is_array());
    ASSERT_EQ(j.size(), 4u);  // pp16 and tg8 for each of two thread counts
    for (const auto& row : j) {
        for (const char* field : {"n_prompt", "n_gen", "n_threads", "avg_ts", "stddev_ts", "samples_ts",
                                  "model_size", "model_type", "peak_rss"})
            EXPECT_TRUE(row.contains(field)) << field;
        EXPECT_EQ(row["samples_ts"].size(), 2u);
        EXPECT_GT(row["avg_ts"].get<double>(), 0.0);
        if (row["n_gen"].get<int>() > 0) {
            EXPECT_GT(row["bytes_per_token"].get<double>(), 0.0);
            EXPECT_GT(row["gbps"].get<double>(), 0.0);
        }
    }
    EXPECT_EQ(j[0]["n_threads"], 1);
    EXPECT_EQ(j[2]["n_threads"], 2);
}

TEST(CliBench, TableAndErrors) {
    HEARTH_SHARED_OR_SKIP(model, "models/stories260K.gguf");
    test::ProcessResult r = run_hearth({"bench", "-m", model, "-p", "8", "-n", "4", "-r", "1", "--no-bandwidth", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("pp8"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("tg4"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("weights read per generated token"), std::string::npos) << r.out;

    test::ProcessResult bad = run_hearth({"bench", "-m", model, "-r", "0"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("repetitions"), std::string::npos) << bad.err;
    test::ProcessResult none = run_hearth({"bench", "-m", model, "-p", "0", "-n", "0"});
    EXPECT_EQ(none.exit_code, 1);
    test::ProcessResult threads = run_hearth({"bench", "-m", model, "-t", "0"});
    EXPECT_EQ(threads.exit_code, 1);
}

}  // namespace
}  // namespace hearth
