#include "cost/results.h"

#include <map>

#include <fmt/format.h>

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
        std::vector<double> tg, pp, ttft, wh, usd;
        double watts = 0;
        for (const CostSample* s : g) {
            watts += s->avg_watts;
            if (s->prompt_tokens > 0 && s->pp_ts > 0) pp.push_back(s->pp_ts);
            if (s->gen_tokens == 0) continue;
            ttft.push_back(s->ttft_ms);
            if (s->tg_ts > 0) tg.push_back(s->tg_ts);
            wh.push_back(s->wh_per_token);
            usd.push_back(usd_per_million_tokens(s->wh_per_token, price_kwh));
        }
        m.avg_watts_mean = watts / static_cast<double>(g.size());
        m.tg_ts = box_stats(tg);
        m.pp_ts = box_stats(pp);
        m.ttft_ms = box_stats(ttft);
        m.wh_per_token = box_stats(wh);
        m.usd_per_mtok = box_stats(usd);
        out.push_back(std::move(m));
    }
    return out;
}

nlohmann::ordered_json sample_to_json(const CostSample& s) {
    return {{"model", s.model},         {"backend", s.backend},       {"prompt_id", s.prompt_id},
            {"category", s.category},   {"run", s.run},               {"prompt_tokens", s.prompt_tokens},
            {"gen_tokens", s.gen_tokens}, {"pp_ts", s.pp_ts},         {"tg_ts", s.tg_ts},
            {"ttft_ms", s.ttft_ms},     {"total_ms", s.total_ms},     {"temperature", s.temperature},
            {"avg_watts", s.avg_watts}, {"energy_j", s.energy_j},     {"wh_per_token", s.wh_per_token},
            {"power_source", s.power_source}, {"measured", s.measured}, {"stop", s.stop}};
}

nlohmann::ordered_json summary_to_json(const ModelSummary& m) {
    nlohmann::ordered_json j = {
        {"model", m.model},
        {"backend", m.backend},
        {"n", m.n},
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

std::string samples_csv(const std::vector<CostSample>& samples) {
    std::string out =
        "model,backend,prompt_id,category,run,prompt_tokens,gen_tokens,pp_ts,tg_ts,ttft_ms,total_ms,temperature,"
        "avg_watts,energy_j,wh_per_token,power_source,measured,stop\n";
    for (const auto& s : samples)
        out += fmt::format("{},{},{},{},{},{},{},{:.4f},{:.4f},{:.3f},{:.3f},{:g},{:.3f},{:.6g},{:.6g},{},{},{}\n",
                           csv_field(s.model), csv_field(s.backend), csv_field(s.prompt_id), csv_field(s.category),
                           s.run, s.prompt_tokens, s.gen_tokens, s.pp_ts, s.tg_ts, s.ttft_ms, s.total_ms,
                           s.temperature, s.avg_watts, s.energy_j, s.wh_per_token, csv_field(s.power_source),
                           s.measured ? "true" : "false", csv_field(s.stop));
    return out;
}

std::string summary_table(const std::vector<ModelSummary>& models) {
    size_t w = 5;
    for (const auto& m : models) w = std::max(w, m.model.size());
    w = std::min<size_t>(w, 48);
    std::string out = fmt::format("{:<{}}  {:>4}  {:>18}  {:>16}  {:>8}  {:>9}  {:>8}  {:>11}  {:>10}  {}\n", "model", w,
                                  "n", "tg t/s med [IQR]", "mean ± std", "outliers", "pp t/s", "ttft ms",
                                  "mWh/token", "$/1M tok", "power");
    for (const auto& m : models) {
        const auto& t = m.tg_ts.summary;
        std::string name = m.model.size() > w ? "…" + m.model.substr(m.model.size() - (w - 1)) : m.model;
        out += fmt::format("{:<{}}  {:>4}  {:>18}  {:>16}  {:>8}  {:>9.1f}  {:>8.1f}  {:>11.4f}  {:>10.4f}  {} ({})\n",
                           name, w, m.n, fmt::format("{:.2f} [{:.2f}–{:.2f}]", t.median, t.q1, t.q3),
                           fmt::format("{:.2f} ± {:.2f}", t.mean, t.stddev), m.tg_ts.outliers.size(),
                           m.pp_ts.summary.median, m.ttft_ms.summary.median, m.wh_per_token.summary.median * 1000,
                           m.usd_per_mtok.summary.median, m.power_source, m.measured ? "measured" : "estimated");
    }
    return out;
}

}  // namespace hearth::cost
