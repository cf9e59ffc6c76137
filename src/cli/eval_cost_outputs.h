#pragma once
// What `hearth eval-cost` writes besides the JSONL and CSV it appends as it goes: results.json,
// a rewritten results.csv and report.html, from whatever samples there are. Called at the end
// of a run, and by the signal thread when a second Ctrl-C asks to write what there is now.
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cost/perplexity.h"
#include "cost/power.h"
#include "cost/prices.h"
#include "cost/results.h"

namespace hearth::cli {

class EvalCostOutputs {
public:
    std::string out_dir;
    double price_kwh = 0;
    std::string cloud_prices_json;  // as given (or the built-in table), copied into results.json
    cost::CloudPriceTable cloud;
    std::string power_name, power_detail;
    bool power_measured = false;
    std::vector<std::string> power_notes;
    std::vector<std::string> notes;  // run settings, for the report

    // Adds a model's perplexity (safe beside write()).
    void add_perplexity(const std::string& label, const cost::PerplexityResult& r);
    // Writes DIR/results.json, DIR/results.csv and DIR/report.html atomically and returns
    // results.json's object. Safe from any thread; one writer at a time.
    nlohmann::ordered_json write(const std::vector<cost::CostSample>& samples,
                                 std::vector<cost::ModelSummary>* summary_out = nullptr);

private:
    std::mutex mutex_;
    std::vector<std::pair<std::string, cost::PerplexityResult>> ppl_;
};

}  // namespace hearth::cli
