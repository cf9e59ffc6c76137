// Statistics, units and outputs of a cost evaluation: box stats with Tukey outliers, $/1M tokens,
// summaries per model, CSV, prompt files and the cloud price table.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bench/stats.h"
#include "common/error.h"
#include "cost/prices.h"
#include "cost/prompts.h"
#include "cost/results.h"
#include "cost/results_log.h"
#include "cost/runner.h"
#include "test_support.h"

using namespace hearth::cost;
namespace fs = std::filesystem;

TEST(CostStats, BoxStatsFlagsTukeyOutliers) {
    // q1 = 2.75, q3 = 6.25 (numpy's linear quantiles), IQR 3.5, fences -2.5 and 11.5.
    hearth::BoxStats b = hearth::box_stats({1, 2, 3, 4, 5, 6, 7, 40});
    EXPECT_DOUBLE_EQ(b.summary.q1, 2.75);
    EXPECT_DOUBLE_EQ(b.summary.q3, 9.25 - 3);  // 6.25
    EXPECT_DOUBLE_EQ(b.summary.iqr(), 3.5);
    EXPECT_DOUBLE_EQ(b.summary.lower_fence(), -2.5);
    EXPECT_DOUBLE_EQ(b.summary.upper_fence(), 11.5);
    ASSERT_EQ(b.outliers.size(), 1u);
    EXPECT_DOUBLE_EQ(b.outliers[0], 40);
    EXPECT_DOUBLE_EQ(b.whisker_low, 1);
    EXPECT_DOUBLE_EQ(b.whisker_high, 7);
    EXPECT_DOUBLE_EQ(b.summary.median, 4.5);

    hearth::BoxStats none = hearth::box_stats({});
    EXPECT_EQ(none.summary.n, 0);
    EXPECT_TRUE(none.outliers.empty());
    hearth::BoxStats same = hearth::box_stats({3, 3, 3});
    EXPECT_TRUE(same.outliers.empty());
    EXPECT_DOUBLE_EQ(same.whisker_low, 3);
    EXPECT_DOUBLE_EQ(same.summary.stddev, 0);
}

TEST(CostUnits, DollarsPerMillionTokens) {
    // 1 Wh per token: a million tokens take 1e6 Wh = 1000 kWh, $140 at $0.14/kWh.
    EXPECT_NEAR(usd_per_million_tokens(1.0, 0.14), 140.0, 1e-9);
    // 100 W at 10 tokens/s: 10 J = 1/360 Wh per token; 1e6 tokens = 2.777… kWh = $0.3889.
    CostSample s;
    s.gen_tokens = 10;
    auto fixed = make_fixed_reader(100);
    apply_energy(s, /*joules=*/100.0, /*seconds=*/1.0, *fixed);
    EXPECT_DOUBLE_EQ(s.avg_watts, 100.0);
    EXPECT_NEAR(s.wh_per_token, 1.0 / 360.0, 1e-12);
    EXPECT_NEAR(usd_per_million_tokens(s.wh_per_token, 0.14), 0.14 * 1e6 / 360.0 / 1000.0, 1e-12);
    EXPECT_FALSE(s.measured);
    EXPECT_EQ(s.power_source, "fixed");
    // No token generated: no per-token energy (not a division by zero).
    CostSample z;
    apply_energy(z, 5.0, 1.0, *fixed);
    EXPECT_EQ(z.wh_per_token, 0.0);
}

TEST(CostUnits, GenerationRateCountsTokensAfterTheFirst) {
    EXPECT_DOUBLE_EQ(generation_rate(11, 100, 1100), 10.0);  // 10 tokens after the first in 1 s
    EXPECT_EQ(generation_rate(1, 100, 100), 0.0);
    EXPECT_EQ(generation_rate(0, 0, 0), 0.0);
    EXPECT_EQ(generation_rate(5, 100, 100), 0.0);
}

namespace {

CostSample sample(const std::string& model, double tg, double wh, int gen = 8) {
    CostSample s;
    s.model = model;
    s.backend = "hearth";
    s.prompt_id = "p";
    s.prompt_tokens = 4;
    s.gen_tokens = gen;
    s.pp_ts = 100;
    s.tg_ts = tg;
    s.ttft_ms = 20;
    s.avg_watts = 50;
    s.wh_per_token = wh;
    s.power_source = "fixed";
    return s;
}

}  // namespace

TEST(CostResults, SummaryPerModelInFirstSeenOrder) {
    std::vector<CostSample> s = {sample("b", 10, 0.001), sample("a", 20, 0.002), sample("b", 12, 0.003),
                                 sample("b", 11, 0.002), sample("b", 100, 0.0001), sample("b", 0, 0, 0)};
    auto m = summarize_models(s, 0.2);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].model, "b");
    EXPECT_EQ(m[0].n, 5);
    EXPECT_EQ(m[0].tg_ts.summary.n, 4);  // the response with no tokens is left out
    EXPECT_DOUBLE_EQ(m[0].tg_ts.summary.median, 11.5);
    EXPECT_EQ(m[0].tg_ts.outliers.size(), 1u);
    EXPECT_DOUBLE_EQ(m[0].usd_per_mtok.summary.median, usd_per_million_tokens(m[0].wh_per_token.summary.median, 0.2));
    EXPECT_EQ(m[1].model, "a");

    auto j = summary_to_json(m[0]);
    for (const char* key : {"model", "median_tg_ts", "q1_tg_ts", "q3_tg_ts", "mean_tg_ts", "std_tg_ts", "outliers",
                            "wh_per_token_median", "usd_per_mtok_median", "price_kwh"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["outliers"], 1);
    EXPECT_DOUBLE_EQ(j["price_kwh"].get<double>(), 0.2);
    auto sj = sample_to_json(s[0]);
    for (const char* key : {"model", "prompt_id", "prompt_tokens", "gen_tokens", "pp_ts", "tg_ts", "ttft_ms",
                            "avg_watts", "power_source", "measured", "wh_per_token"})
        EXPECT_TRUE(sj.contains(key)) << key;
}

TEST(CostResults, CsvQuotesFields) {
    CostSample s = sample("my,model \"q4\"", 1, 1);
    std::string csv = samples_csv({s});
    EXPECT_EQ(csv.substr(0, csv.find('\n')).find("model,backend,prompt_id"), 0u);
    EXPECT_NE(csv.find("\"my,model \"\"q4\"\"\",hearth"), std::string::npos) << csv;
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2);
}

TEST(CostPrompts, BuiltInSetIsVaried) {
    const auto& p = builtin_prompts();
    EXPECT_GE(p.size(), 10u);
    EXPECT_LE(p.size(), 20u);
    std::set<std::string> ids, categories;
    for (const auto& x : p) ids.insert(x.id), categories.insert(x.category);
    EXPECT_EQ(ids.size(), p.size());
    for (const char* c : {"short", "story", "code", "list"}) EXPECT_TRUE(categories.count(c)) << c;
}

TEST(CostPrompts, JsonlParsesAndNamesBadLines) {
    auto p = parse_prompts_jsonl("{\"id\": \"a\", \"prompt\": \"Hi\"}\n\n{\"prompt\": \"Yo\", \"n_predict\": 4}\r\n", "x.jsonl");
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].id, "a");
    EXPECT_EQ(p[1].id, "line3");
    EXPECT_EQ(p[1].n_predict, 4);
    EXPECT_EQ(p[1].category, "custom");

    auto expect_error = [](const std::string& text, const std::string& where, const std::string& what) {
        try {
            parse_prompts_jsonl(text, "x.jsonl");
            ADD_FAILURE() << "accepted: " << text;
        } catch (const hearth::Error& e) {
            EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    expect_error("{\"prompt\": \"ok\"}\n{not json\n", "x.jsonl:2:", "not a JSON object");
    expect_error("[1, 2]\n", "x.jsonl:1:", "expected a JSON object");
    expect_error("{\"id\": \"a\"}\n", "x.jsonl:1:", "missing or empty \"prompt\"");
    expect_error("{\"prompt\": \"\"}\n", "x.jsonl:1:", "missing or empty");
    expect_error("{\"prompt\": 5}\n", "x.jsonl:1:", "must be a string");
    expect_error("{\"prompt\": \"a\", \"promt\": \"b\"}\n", "x.jsonl:1:", "unknown key \"promt\"");
    expect_error("{\"prompt\": \"a\", \"n_predict\": 0}\n", "x.jsonl:1:", "n_predict");
    expect_error("{\"prompt\": \"a\", \"n_predict\": 2.5}\n", "x.jsonl:1:", "n_predict");
    expect_error("{\"id\": \"a\", \"prompt\": \"a\"}\n{\"id\": \"a\", \"prompt\": \"b\"}\n", "x.jsonl:2:", "duplicate id");
    expect_error("\n  \n", "x.jsonl", "no prompts");
    EXPECT_THROW(load_prompts_jsonl("/nonexistent/prompts.jsonl"), hearth::Error);
}

TEST(CostPrices, DefaultTableIsDatedAndValid) {
    CloudPriceTable t = default_cloud_prices();
    EXPECT_FALSE(t.date.empty());
    EXPECT_GE(t.prices.size(), 4u);
    for (const auto& p : t.prices) {
        EXPECT_FALSE(p.provider.empty());
        EXPECT_GT(p.usd_per_mtok_output, 0);
        EXPECT_LT(p.usd_per_mtok_output, 200);
    }
}

TEST(CostPrices, BadTablesAreRejected) {
    const char* bad[] = {
        "not json",
        "[]",
        "{\"prices\": [{\"provider\": \"a\", \"model\": \"b\", \"usd_per_mtok_output\": 1}]}",  // no date
        "{\"date\": \"2025\", \"prices\": []}",
        "{\"date\": \"2025\", \"prices\": [{\"provider\": \"a\", \"model\": \"b\"}]}",
        "{\"date\": \"2025\", \"prices\": [{\"provider\": \"a\", \"model\": \"b\", \"usd_per_mtok_output\": -1}]}",
        "{\"date\": \"2025\", \"prices\": [{\"provider\": \"a\", \"model\": \"b\", \"usd_per_mtok_output\": \"1\"}]}",
        "{\"date\": \"2025\", \"prices\": [{\"provider\": 3, \"model\": \"b\", \"usd_per_mtok_output\": 1}]}",
        "{\"date\": \"2025\", \"prices\": [5]}",
    };
    for (const char* b : bad) EXPECT_THROW(parse_cloud_prices(b, "p.json"), hearth::Error) << b;
    try {
        parse_cloud_prices("{\"date\": \"d\", \"prices\": [{\"provider\": \"a\", \"model\": \"\", \"usd_per_mtok_output\": 1}]}",
                           "p.json");
        FAIL();
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("p.json: prices[0]: \"model\""), std::string::npos) << e.what();
    }
}

TEST(CostResults, FailedResponsesAreCountedNotMeasured) {
    std::vector<CostSample> v(4);
    for (int i = 0; i < 4; ++i) {
        v[i].model = "srv";
        v[i].prompt_id = "p" + std::to_string(i);
        v[i].gen_tokens = 10;
        v[i].tg_ts = 20 + i;
        v[i].engine_tg_ts = i == 0 ? 50 : 0;
        v[i].wh_per_token = 0.001;
        v[i].avg_watts = 30;
    }
    v[2].status = kStatusTimeout;
    v[2].tg_ts = 1000;  // whatever a failed one holds is not measured
    v[3].status = kStatusHttpError;
    v[1].tokens_reported = false;
    auto s = summarize_models(v, 0.2);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].n, 4);
    EXPECT_EQ(s[0].n_ok, 2);
    EXPECT_EQ(s[0].failures, (std::map<std::string, int>{{"http_error", 1}, {"timeout", 1}}));
    EXPECT_DOUBLE_EQ(s[0].tg_ts.summary.max, 21);
    EXPECT_EQ(s[0].engine_tg_ts.summary.n, 1u);  // only the response whose engine reported it
    EXPECT_EQ(s[0].n_tokens_unreported, 1);
    auto j = summary_to_json(s[0]);
    EXPECT_EQ(j["n_failed"], 2);
    EXPECT_TRUE(j["median_engine_pp_ts"].is_null());
    EXPECT_DOUBLE_EQ(j["median_engine_tg_ts"].get<double>(), 50);
    EXPECT_NE(summary_table(s).find("2/2"), std::string::npos) << summary_table(s);
}

TEST(CostResults, SampleJsonRoundTripsAndBadFieldsAreNamed) {
    CostSample s;
    s.model = "m, \"quoted\"";
    s.backend = "openai";
    s.prompt_id = "p";
    s.run = 2;
    s.status = kStatusConnection;
    s.error = "the connection dropped";
    s.attempts = 3;
    s.max_tokens = 16;
    s.tokens_reported = false;
    s.engine_tg_ts = 12.5;
    s.warning = "w";
    const CostSample back = sample_from_json(nlohmann::json::parse(sample_to_json(s).dump()));
    EXPECT_EQ(sample_to_json(back), sample_to_json(s));
    EXPECT_EQ(back.engine_pp_ts, 0);  // null: not reported
    auto j = nlohmann::json::parse(sample_to_json(s).dump());
    j["run"] = "two";
    EXPECT_THROW(sample_from_json(j), hearth::Error);
    j.erase("run");
    try {
        sample_from_json(j);
        FAIL();
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("'run'"), std::string::npos) << e.what();
    }
    // The CSV row has as many cells as the header, error text quoted.
    const std::string row = sample_csv_row(s);
    EXPECT_NE(row.find("\"m, \"\"quoted\"\"\""), std::string::npos) << row;
    EXPECT_NE(row.find(",connection,the connection dropped,3,16,"), std::string::npos) << row;
}

TEST(CostResults, JsonlLogAppendsLoadsAndSurvivesATornLastLine) {
    const fs::path dir = hearth::test::temp_dir();
    CostSample a;
    a.model = "m";
    a.prompt_id = "a";
    CostSample b = a;
    b.prompt_id = "b";
    b.status = kStatusHttpError;
    {
        ResultsLog log(dir.string(), {});
        log.append(a);
        log.append(b);
        EXPECT_TRUE(log.done(key_of(a)));
        EXPECT_FALSE(log.done(key_of(b)));  // failed: run again on resume
        b.status = kStatusOk;
        log.append(b);  // the retry replaces it
        EXPECT_TRUE(log.done(key_of(b)));
        ASSERT_EQ(log.samples().size(), 2u);
    }
    // As a kill -9 in the middle of a write leaves it.
    std::ofstream(dir / "results.jsonl", std::ios::app) << "{\"model\": \"m\", \"prom";
    auto loaded = load_results_jsonl((dir / "results.jsonl").string());
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded[1].prompt_id, "b");
    EXPECT_TRUE(loaded[1].ok());  // the later line of the key wins
    EXPECT_EQ(hearth::test::read_file(dir / "results.csv").rfind("model,backend,prompt_id", 0), 0u);

    std::ofstream(dir / "bad.jsonl") << sample_to_json(a).dump() << "\n[1, 2]\n" << sample_to_json(a).dump() << "\n";
    try {
        load_results_jsonl((dir / "bad.jsonl").string());
        FAIL();
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.jsonl:2:"), std::string::npos) << e.what();
    }
    EXPECT_THROW(load_results_jsonl((dir / "missing.jsonl").string()), hearth::Error);
}
