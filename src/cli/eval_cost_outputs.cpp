#include "cli/eval_cost_outputs.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "cli/options.h"
#include "cost/report_html.h"

namespace hearth::cli {
namespace {

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

std::string host_description() {
    std::ifstream in("/proc/cpuinfo");
    std::string line, cpu = "unknown CPU";
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
            cpu = line.substr(line.find(':') + 2);
            break;
        }
    return fmt::format("{}, {} hardware threads", cpu, std::thread::hardware_concurrency());
}

void write_text(const std::filesystem::path& path, const std::string& text) {
    write_file_atomically(path.string(), text.data(), text.size());
}

}  // namespace

void EvalCostOutputs::add_perplexity(const std::string& label, const cost::PerplexityResult& r) {
    std::lock_guard lock(mutex_);
    ppl_.emplace_back(label, r);
}

nlohmann::ordered_json EvalCostOutputs::write(const std::vector<cost::CostSample>& samples,
                                              std::vector<cost::ModelSummary>* summary_out) {
    std::lock_guard lock(mutex_);
    std::vector<cost::ModelSummary> summary = cost::summarize_models(samples, price_kwh);
    for (auto& m : summary)
        for (const auto& [label, r] : ppl_)
            if (label == m.model) m.ppl = r.ppl, m.ppl_stderr = r.ppl_stderr;

    nlohmann::ordered_json j;
    j["power"] = {{"source", power_name}, {"detail", power_detail}, {"measured", power_measured}, {"notes", power_notes}};
    j["price_kwh"] = price_kwh;
    j["timings"] = "the box plots and the tg/pp/TTFT columns are client side (from the stream, as a caller sees "
                   "them); engine_* fields are the engine's own timings where it reports them";
    j["cloud_prices"] = nlohmann::ordered_json::parse(cloud_prices_json);
    j["samples"] = nlohmann::ordered_json::array();
    for (const auto& s : samples) j["samples"].push_back(cost::sample_to_json(s));
    j["summary"] = nlohmann::ordered_json::array();
    for (const auto& m : summary) j["summary"].push_back(cost::summary_to_json(m));

    cost::ReportMeta meta;
    meta.created = utc_now();
    meta.host = host_description();
    meta.power_detail = power_detail;
    meta.notes = power_notes;
    meta.notes.insert(meta.notes.end(), notes.begin(), notes.end());

    namespace fs = std::filesystem;
    write_text(fs::path(out_dir) / "results.csv", cost::samples_csv(samples));
    write_text(fs::path(out_dir) / "results.json", j.dump(2) + "\n");
    write_text(fs::path(out_dir) / "report.html", cost::html_report(summary, samples, cloud, meta));
    if (summary_out) *summary_out = std::move(summary);
    return j;
}

}  // namespace hearth::cli
