// hearth eval-cost: how fast, how much energy and what a million tokens cost, per model (and per
// --target server), over a set of varied prompts. Writes a table, results.csv, results.json and
// a self-contained report.html with box plots.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "cost/perplexity.h"
#include "cost/power.h"
#include "cost/prices.h"
#include "cost/prompts.h"
#include "cost/report_html.h"
#include "cost/results.h"
#include "cost/runner.h"
#include "cost/target.h"
#include "engine/loader.h"

namespace hearth::cli {
namespace {

struct EvalCostFlags {
    std::vector<std::string> models;
    std::vector<std::string> targets;
    std::string prompts_file;
    int runs = 3;
    int n_predict = 128;
    double price_kwh = 0.14;
    std::string power_source = "auto";
    double fallback_watts = 65;
    std::string sysfs_root = "/sys";
    std::string out_dir = "hearth-eval-cost";
    std::string cloud_prices;
    std::string ppl_file;
    int ppl_ctx = 512;
    int ppl_chunks = 0;
    bool json = false;
    bool no_warmup = false;
    bool no_parse_special = false;
    bool print_cloud_prices = false;
    SessionFlags session;
    SamplingParams sampling;
    std::string seed = "42";
};

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

int run(const EvalCostFlags& f) {
    if (f.print_cloud_prices) {
        std::fputs(cost::default_cloud_prices_json().c_str(), stdout);
        return 0;
    }
    if (f.models.empty() && f.targets.empty()) fail("give at least one -m MODEL or --target URL");
    if (f.runs < 1 || f.runs > 1000) fail("--runs must be from 1 to 1000 (got {})", f.runs);
    if (f.n_predict < 1) fail("-n/--n-predict must be at least 1 (got {})", f.n_predict);
    if (!(f.price_kwh >= 0) || f.price_kwh > 100) fail("--price-kwh must be from 0 to 100 $/kWh (got {})", f.price_kwh);
    if (!(f.fallback_watts > 0) || f.fallback_watts > 1e6) fail("--fallback-watts must be positive (got {})", f.fallback_watts);

    std::vector<cost::Target> targets;
    for (const auto& t : f.targets) targets.push_back(cost::parse_target(t));
    const std::vector<cost::Prompt> prompts =
        f.prompts_file.empty() ? cost::builtin_prompts() : cost::load_prompts_jsonl(f.prompts_file);
    const cost::CloudPriceTable cloud =
        f.cloud_prices.empty() ? cost::default_cloud_prices()
                               : cost::parse_cloud_prices(read_input_file(f.cloud_prices, "cloud prices file"), f.cloud_prices);

    cost::PowerOptions po;
    po.sysfs_root = f.sysfs_root;
    po.fallback_watts = f.fallback_watts;
    cost::PowerSelection power = cost::select_power_source(f.power_source, po);
    const std::string power_desc = fmt::format("{} ({}), {}", power.reader->name(), power.reader->detail(),
                                               power.reader->measured() ? "measured" : "estimated");
    std::fprintf(stderr, "hearth: power: %s\n", power_desc.c_str());
    for (const auto& n : power.notes) std::fprintf(stderr, "hearth: power: %s\n", n.c_str());

    cost::RunOptions ro;
    ro.runs = f.runs;
    ro.n_predict = f.n_predict;
    ro.warmup = !f.no_warmup;
    ro.parse_special = !f.no_parse_special;
    ro.sampling = f.sampling;
    ro.sampling.seed = parse_seed(f.seed);
    ro.sampling.validate();
    ro.session = f.session.to_options();
    ro.on_sample = [](const cost::CostSample& s) {
        std::fprintf(stderr, "hearth: %s | %s #%d | %d+%d tokens | %.1f t/s | ttft %.0f ms | %.1f W\n", s.model.c_str(),
                     s.prompt_id.c_str(), s.run + 1, s.prompt_tokens, s.gen_tokens, s.tg_ts, s.ttft_ms, s.avg_watts);
    };

    const std::string ppl_text = f.ppl_file.empty() ? "" : read_input_file(f.ppl_file, "perplexity text");
    std::vector<cost::CostSample> samples;
    std::vector<std::pair<std::string, cost::PerplexityResult>> ppl;
    for (const auto& path : f.models) {
        std::string label = std::filesystem::path(path).filename().string();
        for (const auto& s : samples)
            if (s.model == label) label = path;  // two files with one name: tell them apart
        auto got = cost::run_local_model(path, label, prompts, ro, *power.reader);
        samples.insert(samples.end(), got.begin(), got.end());
        if (!f.ppl_file.empty()) {
            cost::PerplexityOptions popt;
            popt.n_ctx = f.ppl_ctx;
            popt.max_windows = f.ppl_chunks;
            popt.parse_special = ro.parse_special;
            popt.session = ro.session;
            LoadedModel lm = load_model(path);
            ppl.emplace_back(label, cost::compute_perplexity(lm, ppl_text, popt));
            std::fprintf(stderr, "hearth: %s | perplexity %.4f ± %.4f over %d tokens\n", label.c_str(),
                         ppl.back().second.ppl, ppl.back().second.ppl_stderr, ppl.back().second.n_scored);
        }
    }
    for (const auto& t : targets) {
        auto got = cost::run_target(t, prompts, ro, *power.reader);
        samples.insert(samples.end(), got.begin(), got.end());
    }

    std::vector<cost::ModelSummary> summary = cost::summarize_models(samples, f.price_kwh);
    for (auto& m : summary)
        for (const auto& [label, r] : ppl)
            if (label == m.model) m.ppl = r.ppl, m.ppl_stderr = r.ppl_stderr;

    nlohmann::ordered_json j;
    j["power"] = {{"source", power.reader->name()},
                  {"detail", power.reader->detail()},
                  {"measured", power.reader->measured()},
                  {"notes", power.notes}};
    j["price_kwh"] = f.price_kwh;
    j["cloud_prices"] = nlohmann::ordered_json::parse(
        f.cloud_prices.empty() ? cost::default_cloud_prices_json() : read_input_file(f.cloud_prices, "cloud prices file"));
    j["samples"] = nlohmann::ordered_json::array();
    for (const auto& s : samples) j["samples"].push_back(cost::sample_to_json(s));
    j["summary"] = nlohmann::ordered_json::array();
    for (const auto& m : summary) j["summary"].push_back(cost::summary_to_json(m));

    cost::ReportMeta meta;
    meta.created = utc_now();
    meta.host = host_description();
    meta.power_detail = power.reader->detail();
    meta.notes = power.notes;
    meta.notes.push_back(fmt::format("{} prompts × {} runs, up to {} tokens each, temperature {:g}, seed {}", prompts.size(),
                                     f.runs, f.n_predict, ro.sampling.temperature, f.seed));
    if (!f.ppl_file.empty())
        meta.notes.push_back(fmt::format("perplexity over {} with windows of {} tokens", f.ppl_file, f.ppl_ctx));

    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(f.out_dir, ec);
    if (ec) fail("--out {}: cannot create the directory ({})", f.out_dir, ec.message());
    write_text(fs::path(f.out_dir) / "results.csv", cost::samples_csv(samples));
    write_text(fs::path(f.out_dir) / "results.json", j.dump(2) + "\n");
    write_text(fs::path(f.out_dir) / "report.html", cost::html_report(summary, samples, cloud, meta));

    if (f.json) {
        std::fputs((j.dump(2) + "\n").c_str(), stdout);
    } else {
        std::fputs(cost::summary_table(summary).c_str(), stdout);
        std::printf("power: %s; electricity $%g/kWh\n", power_desc.c_str(), f.price_kwh);
        std::printf("wrote %s/results.csv, results.json, report.html\n", f.out_dir.c_str());
    }
    return 0;
}

}  // namespace

CommandRunner add_eval_cost_command(CLI::App& app) {
    auto flags = std::make_shared<EvalCostFlags>();
    CLI::App* cmd = app.add_subcommand(
        "eval-cost", "measure speed, energy per token and $ per 1M tokens over varied prompts, with an HTML report");
    cmd->footer(
        "Runs every prompt (16 built-in ones: short answers, stories, code, lists; or --prompts FILE.jsonl with\n"
        "{\"id\", \"prompt\", \"category\", \"n_predict\"} per line) --runs times per model, sampling power on a\n"
        "background thread. Power sources: nvml (NVIDIA GPUs), rapl (CPU packages, /sys/class/powercap; often\n"
        "root only), hwmon (power sensors), fixed:WATTS (an estimate). auto sums rapl and nvml where readable,\n"
        "else hwmon, else estimates --fallback-watts; the report says which, and whether measured or estimated.\n"
        "$ per 1M tokens = Wh per token x 1e6 / 1000 x --price-kwh (electricity only).\n"
        "--target runs the same prompts on a server: http://HOST:PORT[/v1][#MODEL] (OpenAI-compatible, streamed)\n"
        "or http://HOST:PORT/api/chat#MODEL (Ollama).\n"
        "Examples:\n"
        "  hearth eval-cost -m q4.gguf -m q8.gguf --runs 3 -n 128 --out cost/\n"
        "  hearth eval-cost -m q4.gguf --target http://127.0.0.1:8080 --power-source fixed:45\n"
        "Writes DIR/results.csv, DIR/results.json ({\"samples\": [...], \"summary\": [...]}) and DIR/report.html.");
    cmd->add_option("-m,--model", flags->models, "GGUF model to run in-process (repeatable)");
    cmd->add_option("--target", flags->targets, "OpenAI- or Ollama-compatible server URL (repeatable)");
    cmd->add_option("--prompts", flags->prompts_file, "JSONL file of prompts replacing the built-in set");
    cmd->add_option("--runs", flags->runs, "repetitions of the prompt set")->capture_default_str();
    cmd->add_option("-n,--n-predict", flags->n_predict, "tokens to generate per prompt (at most)")->capture_default_str();
    cmd->add_option("--price-kwh", flags->price_kwh, "electricity price, US dollars per kWh")->capture_default_str();
    cmd->add_option("--power-source", flags->power_source, "auto | nvml | rapl | hwmon | fixed:WATTS")->capture_default_str();
    cmd->add_option("--fallback-watts", flags->fallback_watts, "the estimate `auto` uses when no sensor is readable")
        ->capture_default_str();
    cmd->add_option("--sysfs-root", flags->sysfs_root, "where rapl and hwmon look (tests point it at fixtures)")
        ->capture_default_str();
    cmd->add_option("--out", flags->out_dir, "directory for results.csv, results.json and report.html")->capture_default_str();
    cmd->add_option("--cloud-prices", flags->cloud_prices, "JSON table of cloud prices replacing the built-in one");
    cmd->add_flag("--print-cloud-prices", flags->print_cloud_prices, "print the built-in cloud price table and exit");
    cmd->add_option("--ppl-file", flags->ppl_file, "also measure each model's perplexity on this text");
    cmd->add_option("--ppl-ctx", flags->ppl_ctx, "perplexity window (tokens)")->capture_default_str();
    cmd->add_option("--ppl-chunks", flags->ppl_chunks, "score at most this many windows (0: all)")->capture_default_str();
    cmd->add_flag("--json", flags->json, "print results.json to stdout instead of the table");
    cmd->add_flag("--no-warmup", flags->no_warmup, "skip the unrecorded warm-up generation per model");
    cmd->add_flag("--no-parse-special", flags->no_parse_special,
                  "tokenize special-token text in prompts (models without a chat template) and the perplexity "
                  "text as plain text");
    flags->session.add(*cmd);
    add_sampling_flags(*cmd, flags->sampling, flags->seed);
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
