// `hearth eval-cost` end to end on tiny models: a few prompts, 8 tokens each, so it takes seconds.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "process.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace hearth {
namespace {

using test::run_hearth;

fs::path write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
}

std::string read(const fs::path& p) { return test::read_file(p); }

}  // namespace

TEST(CliEvalCost, TwoModelsWriteCsvJsonAndReport) {
    HEARTH_SHARED_OR_SKIP(a, "models/stories260K.gguf");
    fs::path dir = test::temp_dir();
    // The second model: a Q8_0 copy of the first (the same tokenizer, so the same prompts).
    const std::string b = (dir / "stories-q8.gguf").string();
    ASSERT_EQ(run_hearth({"quantize", a, b, "Q8_0"}).exit_code, 0);
    fs::path prompts = write(dir / "p.jsonl",
                             "{\"id\": \"girl\", \"prompt\": \"Once upon a time, a girl\", \"category\": \"story\"}\n"
                             "{\"id\": \"dog\", \"prompt\": \"The dog\", \"n_predict\": 4}\n");
    fs::path story = write(dir / "story.txt", [] {
        std::string s;
        for (int i = 0; i < 12; ++i) s += "Lily went to the park with her mom. She saw a big red ball and a little dog. ";
        return s;
    }());
    fs::path out = dir / "out";
    test::ProcessResult r = run_hearth({"eval-cost", "-m", a, "-m", b, "--prompts", prompts.string(), "--runs", "2",
                                        "-n", "8", "--power-source", "fixed:50", "--price-kwh", "0.30", "--out",
                                        out.string(), "--ppl-file", story.string(), "--ppl-ctx", "32", "-t", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("stories260K.gguf"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("fixed (50 W), estimated"), std::string::npos) << r.out;

    nlohmann::json j = nlohmann::json::parse(read(out / "results.json"));
    ASSERT_EQ(j["samples"].size(), 8u);  // 2 models × 2 prompts × 2 runs
    for (const auto& s : j["samples"]) {
        for (const char* k : {"model", "prompt_id", "prompt_tokens", "gen_tokens", "pp_ts", "tg_ts", "ttft_ms",
                              "avg_watts", "power_source", "measured", "wh_per_token", "temperature"})
            EXPECT_TRUE(s.contains(k)) << k;
        EXPECT_EQ(s["power_source"], "fixed");
        EXPECT_EQ(s["measured"], false);
        EXPECT_GT(s["prompt_tokens"].get<int>(), 1);
        EXPECT_LE(s["gen_tokens"].get<int>(), s["prompt_id"] == "dog" ? 4 : 8);
        EXPECT_EQ(s["status"], "ok");
        EXPECT_EQ(s["backend"], "hearth");
        if (s["gen_tokens"].get<int>() > 1) {
            EXPECT_GT(s["engine_tg_ts"].get<double>(), 0);  // hearth's engine reports its own timings
        }
        if (s["gen_tokens"].get<int>() > 0) {
            EXPECT_GT(s["wh_per_token"].get<double>(), 0);
            // Energy per token is 50 W × the response's time over its tokens.
            EXPECT_NEAR(s["avg_watts"].get<double>(), 50.0, 1e-6);
        }
    }
    ASSERT_EQ(j["summary"].size(), 2u);
    for (const auto& m : j["summary"]) {
        for (const char* k : {"median_tg_ts", "q1_tg_ts", "q3_tg_ts", "mean_tg_ts", "std_tg_ts", "outliers",
                              "wh_per_token_median", "usd_per_mtok_median", "price_kwh"})
            EXPECT_TRUE(m.contains(k)) << k;
        EXPECT_DOUBLE_EQ(m["price_kwh"].get<double>(), 0.30);
        EXPECT_LE(m["q1_tg_ts"].get<double>(), m["median_tg_ts"].get<double>());
        EXPECT_LE(m["median_tg_ts"].get<double>(), m["q3_tg_ts"].get<double>());
        EXPECT_NEAR(m["usd_per_mtok_median"].get<double>(), m["wh_per_token_median"].get<double>() * 1000 * 0.30,
                    1e-9 + 1e-6 * m["usd_per_mtok_median"].get<double>());
        EXPECT_TRUE(m["ppl"].is_number());
        EXPECT_GT(m["ppl"].get<double>(), 1.0);
    }
    EXPECT_EQ(j["power"]["measured"], false);

    const std::string csv = read(out / "results.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 9);
    const std::string html = read(out / "report.html");
    EXPECT_NE(html.find("id=\"plot-cost\""), std::string::npos);
    EXPECT_NE(html.find("PPL"), std::string::npos);
}

TEST(CliEvalCost, ViaServerPaysTheHttpPathAndReportsBothTimings) {
    HEARTH_SHARED_OR_SKIP(a, "models/stories260K.gguf");
    fs::path dir = test::temp_dir();
    fs::path prompts = write(dir / "p.jsonl", "{\"id\": \"girl\", \"prompt\": \"Once upon a time, a girl\"}\n");
    // The same file twice: two backends, told apart, each measured.
    test::ProcessResult r = run_hearth({"eval-cost", "-m", a, "-m", a, "--via-server", "--prompts", prompts.string(),
                                        "--runs", "2", "-n", "6", "--power-source", "fixed:30", "--out",
                                        (dir / "o").string(), "--json", "-t", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["samples"].size(), 4u);
    ASSERT_EQ(j["summary"].size(), 2u);
    EXPECT_EQ(j["summary"][0]["model"], "stories260K.gguf via serve");
    EXPECT_EQ(j["summary"][1]["model"], a + " via serve");
    for (const auto& s : j["samples"]) {
        EXPECT_EQ(s["backend"], "hearth serve");
        EXPECT_EQ(s["status"], "ok");
        EXPECT_TRUE(s["tokens_reported"].get<bool>());
        EXPECT_LE(s["gen_tokens"].get<int>(), 6);
        EXPECT_GT(s["prompt_tokens"].get<int>(), 1);
        if (s["gen_tokens"].get<int>() > 1) {
            EXPECT_GT(s["engine_tg_ts"].get<double>(), 0);
            // Client side may be 0 (not measured): a tiny model's whole answer can arrive in one piece.
            EXPECT_GE(s["tg_ts"].get<double>(), 0);
        }
    }
}

TEST(CliEvalCost, AnEngineErrorIsAFailedSample) {
    HEARTH_SHARED_OR_SKIP(a, "models/stories260K.gguf");
    fs::path dir = test::temp_dir();
    // With -c 16 the long prompt does not fit: that response fails, the short one does not.
    fs::path prompts = write(dir / "p.jsonl",
                             "{\"id\": \"short\", \"prompt\": \"Hi\"}\n"
                             "{\"id\": \"long\", \"prompt\": \"Once upon a time there was a little girl named Lily "
                             "who loved to play in the park with her big red ball\"}\n");
    test::ProcessResult r = run_hearth({"eval-cost", "-m", a, "-c", "16", "--prompts", prompts.string(), "--runs", "1",
                                        "-n", "4", "--power-source", "fixed:30", "--no-warmup", "--out",
                                        (dir / "o").string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["samples"].size(), 2u);
    EXPECT_EQ(j["samples"][0]["status"], "ok");
    EXPECT_EQ(j["samples"][1]["status"], "model_error");
    EXPECT_NE(j["samples"][1]["error"].get<std::string>().find("context size 16"), std::string::npos) << j["samples"][1];
    EXPECT_EQ(j["summary"][0]["n_failed"], 1);

    // Only the long prompt: the model produced nothing, so the run is an error, written all the same.
    fs::path only_long = write(dir / "l.jsonl",
                               "{\"id\": \"long\", \"prompt\": \"Once upon a time there was a little girl named Lily "
                               "who loved to play in the park with her big red ball\"}\n");
    r = run_hearth({"eval-cost", "-m", a, "-c", "16", "--prompts", only_long.string(), "--runs", "1", "-n", "4",
                    "--power-source", "fixed:30", "--out", (dir / "l").string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("stories260K.gguf: no successful response (1 failed: 1 model_error)"), std::string::npos) << r.err;
    EXPECT_EQ(nlohmann::json::parse(test::read_file(dir / "l/results.json"))["samples"].size(), 1u);
}

TEST(CliEvalCost, MeasuredRaplFixtureAndJsonOutput) {
    HEARTH_SHARED_OR_SKIP(a, "models/stories260K.gguf");
    fs::path dir = test::temp_dir();
    write(dir / "sys/class/powercap/intel-rapl:0/name", "package-0\n");
    write(dir / "sys/class/powercap/intel-rapl:0/energy_uj", "123456\n");
    write(dir / "sys/class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
    fs::path prompts = write(dir / "p.jsonl", "{\"prompt\": \"Hi\"}\n");
    test::ProcessResult r = run_hearth({"eval-cost", "-m", a, "--prompts", prompts.string(), "--runs", "1", "-n", "4",
                                        "--power-source", "rapl", "--sysfs-root", (dir / "sys").string(), "--out",
                                        (dir / "o").string(), "--json", "--no-warmup"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["power"]["source"], "rapl");
    EXPECT_EQ(j["power"]["measured"], true);
    ASSERT_EQ(j["samples"].size(), 1u);
    EXPECT_EQ(j["samples"][0]["measured"], true);
    EXPECT_EQ(j["samples"][0]["prompt_id"], "line1");
    // The fixture counter does not move: zero energy measured, honestly.
    EXPECT_EQ(j["samples"][0]["avg_watts"].get<double>(), 0.0);
}

TEST(CliEvalCost, ErrorsAreOneLine) {
    HEARTH_SHARED_OR_SKIP(a, "models/stories260K.gguf");
    fs::path dir = test::temp_dir();
    fs::path bad = write(dir / "bad.jsonl", "{\"prompt\": \"ok\"}\n{\"prompt\": \"x\", \"temp\": 1}\n");
    test::ProcessResult r = run_hearth({"eval-cost", "-m", a, "--prompts", bad.string(), "--out", (dir / "o").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(bad.string() + ":2: unknown key \"temp\""), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

    r = run_hearth({"eval-cost", "-m", a, "--power-source", "fixed:lots"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("fixed:WATTS"), std::string::npos) << r.err;
    r = run_hearth({"eval-cost", "-m", a, "--power-source", "rapl", "--sysfs-root", dir.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("rapl: no intel-rapl"), std::string::npos) << r.err;
    r = run_hearth({"eval-cost"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("-m MODEL or --target"), std::string::npos) << r.err;
    r = run_hearth({"eval-cost", "-m", a, "--runs", "0"});
    EXPECT_EQ(r.exit_code, 1);
    r = run_hearth({"eval-cost", "--target", "localhost:1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("expected http://"), std::string::npos) << r.err;
    fs::path prices = write(dir / "prices.json", "{\"date\": \"x\", \"prices\": []}");
    r = run_hearth({"eval-cost", "-m", a, "--cloud-prices", prices.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("prices"), std::string::npos) << r.err;

    r = run_hearth({"eval-cost", "--print-cloud-prices"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(nlohmann::json::parse(r.out).contains("date"));
}

}  // namespace hearth
