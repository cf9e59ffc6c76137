// GET /metrics' text (serve/metrics.h) read back by a strict checker of the Prometheus text
// exposition format 0.0.4, and the access log's JSON lines (serve/access_log.h).
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serve/access_log.h"
#include "serve/metrics.h"

namespace hearth::serve {
namespace {

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

// Parses the exposition strictly: every sample belongs to a family declared by # TYPE before
// it (histogram samples as _bucket/_sum/_count), names and labels have the allowed syntax,
// label values are correctly escaped, a family is declared once, counters end in _total.
// Records a test failure for each violation.
void parse_exposition_into(const std::string& text, std::vector<Sample>& samples) {
    static const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
    static const std::regex help_re("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+");
    static const std::regex type_re("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
    std::map<std::string, std::string> types;
    std::istringstream in(text);
    std::string line;
    EXPECT_TRUE(!text.empty() && text.back() == '\n') << "the exposition must end with a newline";
    while (std::getline(in, line)) {
        std::smatch m;
        if (line.rfind("# HELP ", 0) == 0) {
            EXPECT_TRUE(std::regex_match(line, help_re)) << line;
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            ASSERT_TRUE(std::regex_match(line, m, type_re)) << line;
            EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "declared twice: " << line;
            if (m[2] == "counter") {
                EXPECT_TRUE(m[1].str().ends_with("_total")) << line;
            }
            continue;
        }
        EXPECT_FALSE(line.empty() || line[0] == '#') << "stray line: '" << line << "'";
        Sample s;
        size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        s.name = line.substr(0, i);
        EXPECT_TRUE(std::regex_match(s.name, name_re)) << line;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                size_t eq = line.find('=', i);
                ASSERT_NE(eq, std::string::npos) << line;
                const std::string key = line.substr(i, eq - i);
                EXPECT_TRUE(std::regex_match(key, name_re)) << line;
                ASSERT_EQ(line[eq + 1], '"') << line;
                std::string value;
                size_t j = eq + 2;
                for (; j < line.size() && line[j] != '"'; ++j) {
                    if (line[j] == '\\') {
                        ++j;
                        ASSERT_LT(j, line.size()) << line;
                        EXPECT_TRUE(line[j] == '\\' || line[j] == '"' || line[j] == 'n') << "bad escape: " << line;
                        value += line[j] == 'n' ? '\n' : line[j];
                    } else {
                        value += line[j];
                    }
                }
                ASSERT_LT(j, line.size()) << "unterminated label value: " << line;
                EXPECT_TRUE(s.labels.emplace(key, value).second) << "label twice: " << line;
                i = j + 1;
                if (i < line.size() && line[i] == ',') ++i;
            }
            ASSERT_LT(i, line.size()) << line;
            ++i;  // '}'
        }
        ASSERT_LT(i, line.size()) << line;
        EXPECT_EQ(line[i], ' ') << line;
        const std::string value = line.substr(i + 1);
        if (value == "+Inf") s.value = INFINITY;
        else {
            size_t used = 0;
            s.value = std::stod(value, &used);
            EXPECT_EQ(used, value.size()) << "not a number: " << line;
        }
        std::string family = s.name;
        for (const char* suffix : {"_bucket", "_sum", "_count"})
            if (!types.count(family) && family.ends_with(suffix)) family.resize(family.size() - std::string(suffix).size());
        EXPECT_TRUE(types.count(family)) << "no # TYPE before " << line;
        if (types[family] == "histogram" && s.name.ends_with("_bucket")) {
            EXPECT_TRUE(s.labels.count("le")) << line;
        }
        samples.push_back(std::move(s));
    }
}

std::vector<Sample> parse_exposition(const std::string& text) {
    std::vector<Sample> samples;
    parse_exposition_into(text, samples);
    return samples;
}

double value_of(const std::vector<Sample>& samples, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
    for (const Sample& s : samples)
        if (s.name == name && s.labels == labels) return s.value;
    ADD_FAILURE() << "no sample " << name;
    return -1;
}

ServerGauges some_gauges() {
    ServerGauges g;
    g.slots = 4;
    g.slots_busy = 2;
    g.queue_depth = 3;
    g.prompt_cache_hits = 5;
    g.prompt_cache_tokens = 120;
    g.models.push_back({"stories \"260K\"\nv2", 1185376});
    return g;
}

TEST(ServeMetrics, ExpositionParsesStrictlyAndCountsWhatWasRecorded) {
    Metrics m;
    m.count_request("/v1/chat/completions", 200);
    m.count_request("/v1/chat/completions", 200);
    m.count_request("/v1/chat/completions", 503);
    m.count_request("other", 404);
    m.count_tokens("stories", 12, 40);
    m.count_tokens("stories", 8, 2);
    m.observe_time_to_first_token(0.02);
    m.observe_time_to_first_token(7);
    m.observe_time_per_token(0.003, 39);
    const std::vector<Sample> s = parse_exposition(m.render(some_gauges()));
    EXPECT_EQ(value_of(s, "hearth_requests_total", {{"route", "/v1/chat/completions"}, {"status", "200"}}), 2);
    EXPECT_EQ(value_of(s, "hearth_requests_total", {{"route", "/v1/chat/completions"}, {"status", "503"}}), 1);
    EXPECT_EQ(value_of(s, "hearth_requests_total", {{"route", "other"}, {"status", "404"}}), 1);
    EXPECT_EQ(value_of(s, "hearth_prompt_tokens_total", {{"model", "stories"}}), 20);
    EXPECT_EQ(value_of(s, "hearth_generated_tokens_total", {{"model", "stories"}}), 42);
    EXPECT_EQ(value_of(s, "hearth_queue_depth"), 3);
    EXPECT_EQ(value_of(s, "hearth_slots_busy"), 2);
    EXPECT_EQ(value_of(s, "hearth_slots"), 4);
    EXPECT_EQ(value_of(s, "hearth_ready"), 1);
    EXPECT_EQ(value_of(s, "hearth_prompt_cache_hits_total"), 5);
    // The model name came back exactly, quotes and newline included (escaped on the wire).
    EXPECT_EQ(value_of(s, "hearth_model_bytes", {{"model", "stories \"260K\"\nv2"}}), 1185376);
    EXPECT_EQ(value_of(s, "hearth_model_loaded", {{"model", "stories \"260K\"\nv2"}}), 1);
    EXPECT_GT(value_of(s, "process_resident_memory_bytes"), 0);
    // Histograms: cumulative buckets ending in +Inf == _count, and the sum.
    EXPECT_EQ(value_of(s, "hearth_time_to_first_token_seconds_bucket", {{"le", "0.01"}}), 0);
    EXPECT_EQ(value_of(s, "hearth_time_to_first_token_seconds_bucket", {{"le", "0.025"}}), 1);
    EXPECT_EQ(value_of(s, "hearth_time_to_first_token_seconds_bucket", {{"le", "5"}}), 1);
    EXPECT_EQ(value_of(s, "hearth_time_to_first_token_seconds_bucket", {{"le", "10"}}), 2);
    EXPECT_EQ(value_of(s, "hearth_time_to_first_token_seconds_bucket", {{"le", "+Inf"}}), 2);
    EXPECT_EQ(value_of(s, "hearth_time_to_first_token_seconds_count"), 2);
    EXPECT_DOUBLE_EQ(value_of(s, "hearth_time_to_first_token_seconds_sum"), 7.02);
    EXPECT_EQ(value_of(s, "hearth_time_per_output_token_seconds_bucket", {{"le", "0.0025"}}), 0);
    EXPECT_EQ(value_of(s, "hearth_time_per_output_token_seconds_bucket", {{"le", "0.005"}}), 39);
    EXPECT_EQ(value_of(s, "hearth_time_per_output_token_seconds_count"), 39);
    double previous = 0;
    for (const Sample& x : s)
        if (x.name == "hearth_time_to_first_token_seconds_bucket") {
            EXPECT_GE(x.value, previous) << "buckets must be cumulative";
            previous = x.value;
        }
}

TEST(ServeMetrics, NamesFollowTheConventions) {
    Metrics m;
    m.count_request("/health", 200);
    m.count_tokens("m", 1, 1);
    const std::vector<Sample> s = parse_exposition(m.render(some_gauges()));
    std::set<std::string> names;
    for (const Sample& x : s) names.insert(x.name);
    for (const std::string& n : names) {
        EXPECT_TRUE(n.rfind("hearth_", 0) == 0 || n.rfind("process_", 0) == 0) << n;
        // Units in the name: durations in seconds, sizes in bytes.
        EXPECT_EQ(n.find("_ms"), std::string::npos) << n;
        EXPECT_EQ(n.find("milli"), std::string::npos) << n;
    }
    EXPECT_TRUE(names.count("hearth_time_to_first_token_seconds_bucket"));
    EXPECT_TRUE(names.count("hearth_model_bytes"));
}

TEST(ServeMetrics, NoRequestsYetIsStillValid) {
    Metrics m;
    ServerGauges g;
    g.ready = false;
    const std::vector<Sample> s = parse_exposition(m.render(g));
    EXPECT_EQ(value_of(s, "hearth_ready"), 0);
    EXPECT_EQ(value_of(s, "hearth_time_to_first_token_seconds_count"), 0);
}

TEST(ServeMetrics, ObservingZeroIntervalsChangesNothing) {
    Metrics m;
    m.observe_time_per_token(0.5, 0);
    const std::vector<Sample> s = parse_exposition(m.render({}));
    EXPECT_EQ(value_of(s, "hearth_time_per_output_token_seconds_count"), 0);
}

TEST(ServeMetrics, LabelValuesAreEscaped) {
    EXPECT_EQ(prometheus_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    EXPECT_EQ(prometheus_label_value("plain"), "plain");
}

TEST(ServeAccessLog, GenerationLineHasEveryField) {
    AccessRecord r;
    r.start = std::chrono::steady_clock::time_point(std::chrono::seconds(100));
    r.model = "stories";
    r.prompt_tokens = 12;
    r.completion_tokens = 40;
    r.cached_tokens = 11;
    const auto end = r.start + std::chrono::microseconds(84250);
    const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796686801123));
    const std::string line = access_log_line(r, "POST", "/v1/chat/completions", 200, now, end);
    ASSERT_EQ(line.find('\n'), line.size() - 1) << line;
    const nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["time"], "2026-12-07T23:40:01.123Z");
    EXPECT_EQ(j["method"], "POST");
    EXPECT_EQ(j["route"], "/v1/chat/completions");
    EXPECT_EQ(j["status"], 200);
    EXPECT_EQ(j["model"], "stories");
    EXPECT_EQ(j["prompt_tokens"], 12);
    EXPECT_EQ(j["completion_tokens"], 40);
    EXPECT_EQ(j["cached_tokens"], 11);
    EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 84.3);
}

TEST(ServeAccessLog, OtherRequestsLeaveTokensOutAndEscapeThePath) {
    AccessRecord r;  // never started: e.g. refused by httplib before routing
    const std::string line = access_log_line(r, "GET", "/x\"\n\xff", 400, std::chrono::system_clock::now(),
                                             std::chrono::steady_clock::now());
    ASSERT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
    const nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_FALSE(j.contains("model"));
    EXPECT_FALSE(j.contains("prompt_tokens"));
    EXPECT_FALSE(j.contains("completion_tokens"));
    EXPECT_EQ(j["duration_ms"], 0);
    EXPECT_EQ(j["route"].get<std::string>().substr(0, 3), "/x\"");
}

TEST(ServeAccessLog, BeginAccessResetsThisThreadsRecord) {
    current_access().model = "left over";
    current_access().prompt_tokens = 3;
    begin_access();
    EXPECT_EQ(current_access().model, "");
    EXPECT_EQ(current_access().prompt_tokens, -1);
    EXPECT_NE(current_access().start, std::chrono::steady_clock::time_point{});
}

}  // namespace
}  // namespace hearth::serve
