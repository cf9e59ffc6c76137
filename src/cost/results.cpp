#include "cost/results.h"

#include <map>

#include <fmt/format.h>

#include "common/error.h"
#include "cost/prices.h"

namespace hearth::cost {

std::vector<ModelSummary> summarize_models(const std::vector<CostSample>& samples, double price_kwh) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<const CostSample*>> groups;
    for (const auto& s : samples) {
        if (!groups.count(s.model)) order.push_back(s.model);
        groups[s.model].push_back(&s);
    }
    std::vector<ModelSummary> out;
    for (const auto& name : order) {
        const auto& g = groups[name];
        ModelSummary m;
        m.model = name;
        m.backend = g.front()->backend;
        m.n = static_cast<int>(g.size());
        m.price_kwh = price_kwh;
        m.power_source = g.front()->power_source;
        m.measured = g.front()->measured;
        std::vector<double> tg, pp, ttft, wh, usd, etg, epp;
        double watts = 0;
        for (const CostSample* s : g) {
            if (!s->ok()) {
                ++m.failures[s->status];
                continue;
            }
            ++m.n_ok;
            watts += s->avg_watts;
            if (!s->tokens_reported) ++m.n_tokens_unreported;
            if (s->prompt_tokens > 0 && s->pp_ts > 0) pp.push_back(s->pp_ts);
            if (s->engine_pp_ts > 0) epp.push_back(s->engine_pp_ts);
            if (s->gen_tokens == 0) continue;
            ttft.push_back(s->ttft_ms);
            if (s->tg_ts > 0) tg.push_back(s->tg_ts);
            if (s->engine_tg_ts > 0) etg.push_back(s->engine_tg_ts);
            wh.push_back(s->wh_per_token);
            usd.push_back(usd_per_million_tokens(s->wh_per_token, price_kwh));
        }
        m.avg_watts_mean = m.n_ok > 0 ? watts / m.n_ok : 0;
        m.tg_ts = box_stats(tg);
        m.pp_ts = box_stats(pp);
        m.ttft_ms = box_stats(ttft);
        m.engine_tg_ts = box_stats(etg);
        m.engine_pp_ts = box_stats(epp);
        m.wh_per_token = box_stats(wh);
        m.usd_per_mtok = box_stats(usd);
        out.push_back(std::move(m));
    }
    return out;
}

namespace {

// 0 means "not reported": null in JSON.
nlohmann::ordered_json reported(double v) { return v > 0 ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); }

}  // namespace

nlohmann::ordered_json sample_to_json(const CostSample& s) {
    nlohmann::ordered_json j = {
        {"model", s.model},         {"backend", s.backend},       {"prompt_id", s.prompt_id},
        {"category", s.category},   {"run", s.run},               {"status", s.status},
        {"error", s.error},         {"attempts", s.attempts},     {"max_tokens", s.max_tokens},
        {"prompt_tokens", s.prompt_tokens}, {"gen_tokens", s.gen_tokens}, {"tokens_reported", s.tokens_reported},
        {"pp_ts", s.pp_ts},         {"tg_ts", s.tg_ts},           {"ttft_ms", s.ttft_ms},
        {"total_ms", s.total_ms}};
    j["engine_pp_ts"] = reported(s.engine_pp_ts);
    j["engine_tg_ts"] = reported(s.engine_tg_ts);
    j["temperature"] = s.temperature;
    j["avg_watts"] = s.avg_watts;
    j["energy_j"] = s.energy_j;
    j["wh_per_token"] = s.wh_per_token;
    j["power_source"] = s.power_source;
    j["measured"] = s.measured;
    j["stop"] = s.stop;
    j["warning"] = s.warning;
    return j;
}

CostSample sample_from_json(const nlohmann::json& j) {
    if (!j.is_object()) fail("a sample must be a JSON object");
    CostSample s;
    auto str = [&](const char* key, std::string& out) {
        if (!j.contains(key) || !j[key].is_string()) fail("sample field '{}' must be a string", key);
        out = j[key].get<std::string>();
    };
    auto num = [&](const char* key, double& out) {
        if (!j.contains(key)) fail("sample field '{}' is missing", key);
        if (j[key].is_null()) return;  // not reported
        if (!j[key].is_number()) fail("sample field '{}' must be a number", key);
        out = j[key].get<double>();
    };
    auto integer = [&](const char* key, int& out) {
        if (!j.contains(key) || !j[key].is_number_integer()) fail("sample field '{}' must be an integer", key);
        out = j[key].get<int>();
    };
    auto boolean = [&](const char* key, bool& out) {
        if (!j.contains(key) || !j[key].is_boolean()) fail("sample field '{}' must be true or false", key);
        out = j[key].get<bool>();
    };
    str("model", s.model);
    str("backend", s.backend);
    str("prompt_id", s.prompt_id);
    str("category", s.category);
    integer("run", s.run);
    str("status", s.status);
    str("error", s.error);
    integer("attempts", s.attempts);
    integer("max_tokens", s.max_tokens);
    integer("prompt_tokens", s.prompt_tokens);
    integer("gen_tokens", s.gen_tokens);
    boolean("tokens_reported", s.tokens_reported);
    num("pp_ts", s.pp_ts);
    num("tg_ts", s.tg_ts);
    num("ttft_ms", s.ttft_ms);
    num("total_ms", s.total_ms);
    num("engine_pp_ts", s.engine_pp_ts);
    num("engine_tg_ts", s.engine_tg_ts);
    num("temperature", s.temperature);
    num("avg_watts", s.avg_watts);
    num("energy_j", s.energy_j);
    num("wh_per_token", s.wh_per_token);
    str("power_source", s.power_source);
    boolean("measured", s.measured);
    str("stop", s.stop);
    str("warning", s.warning);
    return s;
}

nlohmann::ordered_json summary_to_json(const ModelSummary& m) {
    nlohmann::ordered_json j = {
        {"model", m.model},
        {"backend", m.backend},
        {"n", m.n},
        {"n_ok", m.n_ok},
        {"n_failed", m.n - m.n_ok},
        {"failures", m.failures},
        {"median_tg_ts", m.tg_ts.summary.median},
        {"q1_tg_ts", m.tg_ts.summary.q1},
        {"q3_tg_ts", m.tg_ts.summary.q3},
        {"iqr_tg_ts", m.tg_ts.summary.iqr()},
        {"mean_tg_ts", m.tg_ts.summary.mean},
        {"std_tg_ts", m.tg_ts.summary.stddev},
        {"min_tg_ts", m.tg_ts.summary.min},
        {"max_tg_ts", m.tg_ts.summary.max},
        {"outliers", m.tg_ts.outliers.size()},
        {"outlier_tg_ts", m.tg_ts.outliers},
        {"median_pp_ts", m.pp_ts.summary.median},
        {"median_ttft_ms", m.ttft_ms.summary.median},
        {"median_engine_tg_ts", reported(m.engine_tg_ts.summary.median)},
        {"median_engine_pp_ts", reported(m.engine_pp_ts.summary.median)},
        {"responses_without_token_counts", m.n_tokens_unreported},
        {"avg_watts", m.avg_watts_mean},
        {"wh_per_token_median", m.wh_per_token.summary.median},
        {"wh_per_token_q1", m.wh_per_token.summary.q1},
        {"wh_per_token_q3", m.wh_per_token.summary.q3},
        {"usd_per_mtok_median", m.usd_per_mtok.summary.median},
        {"usd_per_mtok_q1", m.usd_per_mtok.summary.q1},
        {"usd_per_mtok_q3", m.usd_per_mtok.summary.q3},
        {"price_kwh", m.price_kwh},
        {"power_source", m.power_source},
        {"measured", m.measured},
    };
    j["ppl"] = m.ppl ? nlohmann::ordered_json(*m.ppl) : nlohmann::ordered_json();
    j["ppl_stderr"] = m.ppl_stderr ? nlohmann::ordered_json(*m.ppl_stderr) : nlohmann::ordered_json();
    return j;
}

namespace {

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace

std::string samples_csv_header() {
    return "model,backend,prompt_id,category,run,status,error,attempts,max_tokens,prompt_tokens,gen_tokens,"
           "tokens_reported,pp_ts,tg_ts,ttft_ms,total_ms,engine_pp_ts,engine_tg_ts,temperature,avg_watts,energy_j,"
           "wh_per_token,power_source,measured,stop,warning\n";
}

std::string sample_csv_row(const CostSample& s) {
    // Engine timings not reported are empty cells, not zeros.
    auto engine = [](double v) { return v > 0 ? fmt::format("{:.4f}", v) : std::string(); };
    return fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{:.4f},{:.4f},{:.3f},{:.3f},{},{},{:g},{:.3f},{:.6g},{:.6g},{},{},{},{}\n",
        csv_field(s.model), csv_field(s.backend), csv_field(s.prompt_id), csv_field(s.category), s.run,
        csv_field(s.status), csv_field(s.error), s.attempts, s.max_tokens, s.prompt_tokens, s.gen_tokens,
        s.tokens_reported ? "true" : "false", s.pp_ts, s.tg_ts, s.ttft_ms, s.total_ms, engine(s.engine_pp_ts),
        engine(s.engine_tg_ts), s.temperature, s.avg_watts, s.energy_j, s.wh_per_token, csv_field(s.power_source),
        s.measured ? "true" : "false", csv_field(s.stop), csv_field(s.warning));
}

std::string samples_csv(const std::vector<CostSample>& samples) {
    std::string out = samples_csv_header();
    for (const auto& s : samples) out += sample_csv_row(s);
    return out;
}

std::string summary_table(const std::vector<ModelSummary>& models) {
    size_t w = 5;
    for (const auto& m : models) w = std::max(w, m.model.size());
    w = std::min<size_t>(w, 48);
    auto engine = [](const BoxStats& b) { return b.summary.n > 0 ? fmt::format("{:.1f}", b.summary.median) : "–"; };
    std::string out = fmt::format("{:<{}}  {:>7}  {:>18}  {:>16}  {:>8}  {:>9}  {:>9}  {:>9}  {:>8}  {:>11}  {:>10}  {}\n",
                                  "model", w, "ok/fail", "tg t/s med [IQR]", "mean ± std", "outliers", "engine tg",
                                  "pp t/s", "engine pp", "ttft ms", "mWh/token", "$/1M tok", "power");
    for (const auto& m : models) {
        const auto& t = m.tg_ts.summary;
        std::string name = m.model.size() > w ? "…" + m.model.substr(m.model.size() - (w - 1)) : m.model;
        out += fmt::format(
            "{:<{}}  {:>7}  {:>18}  {:>16}  {:>8}  {:>9}  {:>9.1f}  {:>9}  {:>8.1f}  {:>11.4f}  {:>10.4f}  {} ({})\n", name, w,
            fmt::format("{}/{}", m.n_ok, m.n - m.n_ok), fmt::format("{:.2f} [{:.2f}–{:.2f}]", t.median, t.q1, t.q3),
            fmt::format("{:.2f} ± {:.2f}", t.mean, t.stddev), m.tg_ts.outliers.size(), engine(m.engine_tg_ts),
            m.pp_ts.summary.median, engine(m.engine_pp_ts), m.ttft_ms.summary.median,
            m.wh_per_token.summary.median * 1000, m.usd_per_mtok.summary.median, m.power_source,
            m.measured ? "measured" : "estimated");
    }
    return out;
}

}  // namespace hearth::cost
