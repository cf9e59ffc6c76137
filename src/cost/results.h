#pragma once
// One cost evaluation's measurements: a sample per response, and a summary per model (or
// server) with the spread of speed, energy per token and dollars per million tokens.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/stats.h"

namespace hearth::cost {

// What became of a request. Anything but Ok is a failure, kept as data (docs/eval-cost.md).
inline constexpr const char* kStatusOk = "ok";
inline constexpr const char* kStatusHttpError = "http_error";        // the server answered 4xx/5xx
inline constexpr const char* kStatusTimeout = "timeout";             // nothing came for --request-timeout
inline constexpr const char* kStatusConnection = "connection";       // refused, or dropped mid-stream
inline constexpr const char* kStatusInvalidStream = "invalid_stream"; // not JSON, or no final message
inline constexpr const char* kStatusServerError = "server_error";    // an error object inside the stream
inline constexpr const char* kStatusModelError = "model_error";      // the in-process engine threw

struct CostSample {
    std::string model;         // label: the model file's name, or the --target
    std::string backend;       // "hearth", "hearth serve", "openai", "ollama"
    std::string prompt_id;
    std::string category;
    int run = 0;               // 0-based repetition
    std::string status = kStatusOk;
    std::string error;         // why it failed ("" when ok)
    int attempts = 1;          // requests sent for it (more than 1 only with --retries)
    int max_tokens = 0;        // the generation limit asked for
    int prompt_tokens = 0;
    int gen_tokens = 0;
    bool tokens_reported = true;  // false: the server sent no token counts; gen_tokens counts stream chunks
    // Client side: what the caller sees, from the start of the request.
    double pp_ts = 0;          // prompt tokens / time to the first token
    double tg_ts = 0;          // generated tokens per second after the first (see docs/eval-cost.md)
    double ttft_ms = 0;        // request start to the first generated token
    double total_ms = 0;
    // Engine side: the engine's own timings where it reports them (0: not reported).
    double engine_pp_ts = 0;
    double engine_tg_ts = 0;
    double temperature = 0;
    double avg_watts = 0;      // over the whole response
    double energy_j = 0;
    double wh_per_token = 0;   // energy / generated tokens (0 when none were generated)
    std::string power_source;
    bool measured = false;
    std::string stop;          // why generation ended
    std::string warning;       // e.g. the server returned more tokens than asked

    bool ok() const { return status == kStatusOk; }
};

struct ModelSummary {
    std::string model;
    std::string backend;
    int n = 0;                 // responses, failed ones included
    int n_ok = 0;
    std::map<std::string, int> failures;  // status -> count
    BoxStats tg_ts;            // per-response generation speed, client side
    BoxStats pp_ts;
    BoxStats ttft_ms;
    BoxStats engine_tg_ts;     // empty when the engine reports no timings
    BoxStats engine_pp_ts;
    int n_tokens_unreported = 0;  // ok responses whose token counts are stream chunks
    BoxStats wh_per_token;
    BoxStats usd_per_mtok;
    double avg_watts_mean = 0;
    double price_kwh = 0;
    std::string power_source;
    bool measured = false;
    std::optional<double> ppl;  // from --ppl-file
    std::optional<double> ppl_stderr;
};

// Groups samples by model label (in first-seen order). Failed responses are counted, not
// measured; responses with no generated token are left out of the per-token figures.
std::vector<ModelSummary> summarize_models(const std::vector<CostSample>& samples, double price_kwh);

nlohmann::ordered_json sample_to_json(const CostSample& s);
// The inverse, for --resume. Throws hearth::Error naming the missing or mistyped field.
CostSample sample_from_json(const nlohmann::json& j);
nlohmann::ordered_json summary_to_json(const ModelSummary& m);

// results.csv: a header and one row per sample (RFC 4180 quoting); the header and a row alone
// for appending as responses come.
std::string samples_csv(const std::vector<CostSample>& samples);
std::string samples_csv_header();
std::string sample_csv_row(const CostSample& s);
// The terminal table: one row per model.
std::string summary_table(const std::vector<ModelSummary>& models);

}  // namespace hearth::cost
