#pragma once
// One cost evaluation's measurements: a sample per response, and a summary per model (or
// server) with the spread of speed, energy per token and dollars per million tokens.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/stats.h"

namespace hearth::cost {

struct CostSample {
    std::string model;         // label: the model file's name, or the --target
    std::string backend;       // "hearth", "openai", "ollama"
    std::string prompt_id;
    std::string category;
    int run = 0;               // 0-based repetition
    int prompt_tokens = 0;
    int gen_tokens = 0;
    double pp_ts = 0;          // prompt tokens per second
    double tg_ts = 0;          // generated tokens per second after the first (see docs/eval-cost.md)
    double ttft_ms = 0;        // request start to the first generated token
    double total_ms = 0;
    double temperature = 0;
    double avg_watts = 0;      // over the whole response
    double energy_j = 0;
    double wh_per_token = 0;   // energy / generated tokens (0 when none were generated)
    std::string power_source;
    bool measured = false;
    std::string stop;          // why generation ended
};

struct ModelSummary {
    std::string model;
    std::string backend;
    int n = 0;
    BoxStats tg_ts;            // per-response generation speed
    BoxStats pp_ts;
    BoxStats ttft_ms;
    BoxStats wh_per_token;
    BoxStats usd_per_mtok;
    double avg_watts_mean = 0;
    double price_kwh = 0;
    std::string power_source;
    bool measured = false;
    std::optional<double> ppl;  // from --ppl-file
    std::optional<double> ppl_stderr;
};

// Groups samples by model label (in first-seen order). Responses with no generated token are
// left out of the per-token figures.
std::vector<ModelSummary> summarize_models(const std::vector<CostSample>& samples, double price_kwh);

nlohmann::ordered_json sample_to_json(const CostSample& s);
nlohmann::ordered_json summary_to_json(const ModelSummary& m);

// results.csv: a header and one row per sample (RFC 4180 quoting).
std::string samples_csv(const std::vector<CostSample>& samples);
// The terminal table: one row per model.
std::string summary_table(const std::vector<ModelSummary>& models);

}  // namespace hearth::cost
