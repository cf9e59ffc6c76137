// hearth eval-cost: how fast, how much energy and what a million tokens cost, per model (and per
// --target server), over a set of varied prompts. Appends every response to results.jsonl and
// results.csv as it is measured; writes a table, results.json and a self-contained report.html
// with box plots at the end, on a signal, or when a model fails to load halfway.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/eval_cost_outputs.h"
#include "cli/loopback_server.h"
#include "cli/options.h"
#include "common/error.h"
#include "cost/perplexity.h"
#include "cost/power.h"
#include "cost/prices.h"
#include "cost/prompts.h"
#include "cost/results.h"
#include "cost/results_log.h"
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
    std::string resume;
    bool fail_fast = false;
    int retries = 0;
    double request_timeout = 0;
    bool via_server = false;
    double target_watts = 0;
    SessionFlags session;
    SamplingParams sampling;
    std::string seed = "42";
};

// The settings a resumed run must share with the run it continues (DIR/run.json).
nlohmann::ordered_json run_settings(const cost::RunOptions& ro) {
    const bool fixed_seed = ro.sampling.seed != SamplingParams::kRandomSeed;
    return {{"n_predict", ro.n_predict},
            {"temperature", ro.sampling.temperature},
            {"top_p", ro.sampling.top_p},
            {"top_k", ro.sampling.top_k},
            {"min_p", ro.sampling.min_p},
            {"repeat_penalty", ro.sampling.repeat_penalty},
            {"seed", fixed_seed ? nlohmann::ordered_json(ro.sampling.seed) : nlohmann::ordered_json(-1)}};
}

void check_resumable(const std::string& dir, const nlohmann::ordered_json& now) {
    const std::string path = dir + "/run.json";
    nlohmann::ordered_json before;
    try {
        before = nlohmann::ordered_json::parse(read_input_file(path, "--resume run settings"));
    } catch (const nlohmann::json::parse_error&) {
        fail("--resume {}: {} is not JSON", dir, path);
    }
    for (const auto& [key, value] : now.items())
        if (!before.contains(key) || before[key] != value)
            fail("--resume {}: the run used {} = {}, this one {}: give the same settings to continue it", dir, key,
                 before.contains(key) ? before[key].dump() : "nothing", value.dump());
}

// One line per failed response, and the note of a warning, as they come.
void print_progress(const cost::CostSample& s) {
    if (!s.ok()) {
        std::fprintf(stderr, "hearth: %s | %s #%d | FAILED (%s): %s\n", s.model.c_str(), s.prompt_id.c_str(), s.run + 1,
                     s.status.c_str(), s.error.c_str());
        return;
    }
    std::fprintf(stderr, "hearth: %s | %s #%d | %d+%d tokens | %.1f t/s | ttft %.0f ms | %.1f W\n", s.model.c_str(),
                 s.prompt_id.c_str(), s.run + 1, s.prompt_tokens, s.gen_tokens, s.tg_ts, s.ttft_ms, s.avg_watts);
    if (!s.warning.empty()) std::fprintf(stderr, "hearth: warning: %s: %s\n", s.model.c_str(), s.warning.c_str());
}

// Per backend, a line for each that had no successful response; empty when all had one.
std::vector<std::string> backends_without_success(const std::vector<std::string>& labels,
                                                  const std::vector<cost::ModelSummary>& summary) {
    std::vector<std::string> out;
    for (const auto& label : labels) {
        auto it = std::find_if(summary.begin(), summary.end(), [&](const auto& m) { return m.model == label; });
        if (it == summary.end() || it->n_ok > 0) continue;
        std::string why;
        for (const auto& [status, count] : it->failures) why += fmt::format("{}{} {}", why.empty() ? "" : ", ", count, status);
        out.push_back(fmt::format("{}: no successful response ({} failed: {})", label, it->n, why));
    }
    return out;
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
    if (f.retries < 0 || f.retries > 100) fail("--retries must be from 0 to 100 (got {})", f.retries);
    if (!(f.request_timeout >= 0) || f.request_timeout > 86400)
        fail("--request-timeout must be from 0 to 86400 seconds (got {})", f.request_timeout);
    if (!(f.target_watts >= 0) || f.target_watts > 1e6) fail("--target-watts must be from 0 to 1e6 W (got {})", f.target_watts);
    if (f.via_server && f.models.empty()) fail("--via-server needs at least one -m MODEL to serve");

    std::vector<cost::Target> targets;
    for (const auto& t : f.targets) targets.push_back(cost::parse_target(t));
    const std::vector<cost::Prompt> prompts =
        f.prompts_file.empty() ? cost::builtin_prompts() : cost::load_prompts_jsonl(f.prompts_file);

    EvalCostOutputs outputs;
    outputs.out_dir = f.resume.empty() ? f.out_dir : f.resume;
    outputs.price_kwh = f.price_kwh;
    outputs.cloud_prices_json =
        f.cloud_prices.empty() ? cost::default_cloud_prices_json() : read_input_file(f.cloud_prices, "cloud prices file");
    outputs.cloud = f.cloud_prices.empty() ? cost::default_cloud_prices()
                                           : cost::parse_cloud_prices(outputs.cloud_prices_json, f.cloud_prices);

    std::atomic<bool> stop_requested{false};
    cost::RunOptions ro;
    ro.runs = f.runs;
    ro.n_predict = f.n_predict;
    ro.warmup = !f.no_warmup;
    ro.parse_special = !f.no_parse_special;
    ro.sampling = f.sampling;
    ro.sampling.seed = parse_seed(f.seed);
    ro.sampling.validate();
    ro.session = f.session.to_options();
    ro.fail_fast = f.fail_fast;
    ro.retries = f.retries;
    ro.request_timeout_s = f.request_timeout;
    ro.stop = &stop_requested;

    outputs.notes.push_back(fmt::format("{} prompts × {} runs, up to {} tokens each, temperature {:g}, top_p {:g}, seed {}",
                                        prompts.size(), f.runs, f.n_predict, ro.sampling.temperature,
                                        ro.sampling.top_p, f.seed));
    if (!f.ppl_file.empty())
        outputs.notes.push_back(fmt::format("perplexity over {} with windows of {} tokens", f.ppl_file, f.ppl_ctx));

    // The output directory, and what an earlier run left there when resuming.
    namespace fs = std::filesystem;
    const std::string& dir = outputs.out_dir;
    std::vector<cost::CostSample> previous;
    if (!f.resume.empty()) {
        if (!fs::is_regular_file(fs::path(dir) / "results.jsonl"))
            fail("--resume {}: no results.jsonl there to continue", dir);
        check_resumable(dir, run_settings(ro));
        previous = cost::load_results_jsonl((fs::path(dir) / "results.jsonl").string());
        std::fprintf(stderr, "hearth: resuming %s: %zu responses recorded\n", dir.c_str(), previous.size());
    } else {
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) fail("--out {}: cannot create the directory ({})", dir, ec.message());
    }

    cost::PowerOptions po;
    po.sysfs_root = f.sysfs_root;
    po.fallback_watts = f.fallback_watts;
    cost::PowerSelection power = cost::select_power_source(f.power_source, po);
    const std::string power_desc = fmt::format("{} ({}), {}", power.reader->name(), power.reader->detail(),
                                               power.reader->measured() ? "measured" : "estimated");
    std::fprintf(stderr, "hearth: power: %s\n", power_desc.c_str());
    for (const auto& n : power.notes) std::fprintf(stderr, "hearth: power: %s\n", n.c_str());
    outputs.power_name = power.reader->name();
    outputs.power_detail = power.reader->detail();
    outputs.power_measured = power.reader->measured();
    outputs.power_notes = power.notes;

    // Remote servers: this machine's power says nothing about them (an estimate only when asked).
    std::vector<std::unique_ptr<cost::PowerReader>> remote_power;
    for (const auto& t : targets) {
        if (cost::is_local_target(t)) remote_power.push_back(nullptr);
        else if (f.target_watts > 0) remote_power.push_back(cost::make_fixed_reader(f.target_watts));
        else remote_power.push_back(cost::make_no_reader("remote target: this machine's power does not apply"));
        if (remote_power.back())
            outputs.power_notes.push_back(fmt::format("{} is on another machine: its power is {}", t.label,
                                                      f.target_watts > 0 ? fmt::format("an estimate of {:g} W (--target-watts)", f.target_watts)
                                                                         : std::string("not measured (give --target-watts W to estimate it)")));
    }

    // Start the append-only files clean: one line per response, nothing cut short.
    std::string jsonl, csv = cost::samples_csv(previous);
    for (const auto& s : previous) jsonl += cost::sample_to_json(s).dump() + "\n";
    write_file_atomically((fs::path(dir) / "results.jsonl").string(), jsonl.data(), jsonl.size());
    write_file_atomically((fs::path(dir) / "results.csv").string(), csv.data(), csv.size());
    const std::string settings = run_settings(ro).dump(2) + "\n";
    write_file_atomically((fs::path(dir) / "run.json").string(), settings.data(), settings.size());
    cost::ResultsLog log(dir, std::move(previous));
    ro.skip = [&log](const cost::SampleKey& k) { return log.done(k); };
    int failed_now = 0;  // in this session (not the resumed run's)
    ro.on_sample = [&log, &failed_now](const cost::CostSample& s) {
        log.append(s);
        if (!s.ok()) ++failed_now;
        print_progress(s);
    };

    // SIGINT/SIGTERM go to one thread (blocked here, before any other thread starts, so every
    // thread inherits the mask). First: finish the current response, then write and exit.
    // Second: write what there is and exit now. SIGUSR1 ends the thread at the normal end.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    std::thread signals([&] {
        for (;;) {
            int sig = 0;
            sigwait(&set, &sig);
            if (sig == SIGUSR1) return;
            if (!stop_requested.exchange(true)) {
                std::fprintf(stderr, "hearth: %s: finishing the current response, then writing the results "
                                     "(again to write what there is and exit now)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
                continue;
            }
            std::fprintf(stderr, "hearth: writing %zu responses to %s and exiting now\n", log.samples().size(), dir.c_str());
            try {
                outputs.write(log.samples());
            } catch (const std::exception& e) {
                std::fprintf(stderr, "hearth: error: %s\n", e.what());
            }
            std::_Exit(130);
        }
    });
    struct JoinSignals {
        std::thread& t;
        ~JoinSignals() {
            pthread_kill(t.native_handle(), SIGUSR1);
            t.join();
        }
    } join_signals{signals};

    // Every backend of this run, in order: their labels decide the exit code.
    std::vector<std::string> labels;
    std::string run_error;
    try {
        const std::string ppl_text = f.ppl_file.empty() ? "" : read_input_file(f.ppl_file, "perplexity text");
        auto stopped = [&] { return stop_requested || (f.fail_fast && failed_now > 0); };
        for (const auto& path : f.models) {
            if (stopped()) break;
            const std::string suffix = f.via_server ? " via serve" : "";
            std::string label = fs::path(path).filename().string();
            if (std::find(labels.begin(), labels.end(), label + suffix) != labels.end()) label = path;  // two files, one name
            if (f.via_server) {
                LoopbackServer server(path, ro);
                cost::Target t = server.target();
                t.label = label + suffix;
                labels.push_back(t.label);
                cost::run_target(t, prompts, ro, *power.reader);
            } else {
                labels.push_back(label);
                cost::run_local_model(path, label, prompts, ro, *power.reader);
            }
            if (!f.ppl_file.empty() && !stopped()) {
                cost::PerplexityOptions popt;
                popt.n_ctx = f.ppl_ctx;
                popt.max_windows = f.ppl_chunks;
                popt.parse_special = ro.parse_special;
                popt.session = ro.session;
                LoadedModel lm = load_model(path);
                const cost::PerplexityResult r = cost::compute_perplexity(lm, ppl_text, popt);
                outputs.add_perplexity(labels.back(), r);
                std::fprintf(stderr, "hearth: %s | perplexity %.4f ± %.4f over %d tokens\n", labels.back().c_str(), r.ppl,
                             r.ppl_stderr, r.n_scored);
            }
        }
        for (size_t i = 0; i < targets.size() && !stopped(); ++i) {
            // The same server given twice is two backends: results are keyed by label.
            for (int n = 2; std::find(labels.begin(), labels.end(), targets[i].label) != labels.end(); ++n)
                targets[i].label = fmt::format("{} #{}", f.targets[i], n);
            labels.push_back(targets[i].label);
            cost::run_target(targets[i], prompts, ro, remote_power[i] ? *remote_power[i] : *power.reader);
        }
    } catch (const Error& e) {
        run_error = e.what();  // written below with what was measured before it
    }

    std::vector<cost::CostSample> samples = log.samples();
    std::vector<cost::ModelSummary> summary;
    nlohmann::ordered_json j = outputs.write(samples, &summary);
    if (!run_error.empty()) fail("{} (the {} responses measured before are in {})", run_error, samples.size(), dir);

    if (f.json) {
        std::fputs((j.dump(2) + "\n").c_str(), stdout);
    } else {
        std::fputs(cost::summary_table(summary).c_str(), stdout);
        std::printf("power: %s; electricity $%g/kWh\n", power_desc.c_str(), f.price_kwh);
        std::printf("wrote %s/results.jsonl, results.csv, results.json, report.html\n", dir.c_str());
    }
    if (stop_requested) {
        std::fprintf(stderr, "hearth: interrupted: %zu responses written; continue with --resume %s\n", samples.size(),
                     dir.c_str());
        return 130;
    }
    int failed = 0;
    for (const auto& m : summary) failed += m.n - m.n_ok;
    if (failed > 0) std::fprintf(stderr, "hearth: %d responses failed (see the report's failures)\n", failed);
    const std::vector<std::string> dead = backends_without_success(labels, summary);
    for (const auto& line : dead) std::fprintf(stderr, "hearth: error: %s\n", line.c_str());
    if (!dead.empty()) return 1;
    if (f.fail_fast && failed_now > 0) {
        std::fprintf(stderr, "hearth: error: stopped at the first failed response (--fail-fast)\n");
        return 1;
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
        "or http://HOST:PORT/api/chat#MODEL (Ollama); --via-server runs the -m models through hearth serve on a\n"
        "loopback port so they pay the same HTTP path. Speeds are client side (from the stream) in the plots,\n"
        "engine side where the runtime reports its own timings.\n"
        "Each response is appended to DIR/results.jsonl and DIR/results.csv as it is measured. A failed request\n"
        "is recorded with its status and error and the run goes on; the exit code is 1 only when a backend had\n"
        "no successful response (or at the first failure with --fail-fast). Ctrl-C: finish the response in\n"
        "progress, write everything, exit 130 (twice: write now); continue with --resume DIR.\n"
        "Examples:\n"
        "  hearth eval-cost -m q4.gguf -m q8.gguf --runs 3 -n 128 --out cost/\n"
        "  hearth eval-cost -m q4.gguf --via-server --target http://127.0.0.1:8080 --power-source fixed:45\n"
        "  hearth eval-cost -m q4.gguf --target http://127.0.0.1:8080 --resume cost/\n"
        "Writes DIR/results.jsonl, DIR/results.csv, DIR/results.json ({\"samples\": [...], \"summary\": [...]}),\n"
        "DIR/run.json and DIR/report.html.");
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
    CLI::Option* out = cmd->add_option("--out", flags->out_dir,
                                       "directory for results.jsonl, results.csv, results.json and report.html")
                           ->capture_default_str();
    cmd->add_option("--cloud-prices", flags->cloud_prices, "JSON table of cloud prices replacing the built-in one");
    cmd->add_flag("--print-cloud-prices", flags->print_cloud_prices, "print the built-in cloud price table and exit");
    cmd->add_option("--ppl-file", flags->ppl_file, "also measure each model's perplexity on this text");
    cmd->add_option("--ppl-ctx", flags->ppl_ctx, "perplexity window (tokens)")->capture_default_str();
    cmd->add_option("--ppl-chunks", flags->ppl_chunks, "score at most this many windows (0: all)")->capture_default_str();
    cmd->add_option("--resume", flags->resume,
                    "continue the interrupted run in DIR: skip the responses it measured, run the rest and "
                    "the failed ones again")
        ->excludes(out);
    cmd->add_flag("--fail-fast", flags->fail_fast, "stop at the first failed response and exit 1");
    cmd->add_option("--retries", flags->retries, "send a failed request up to N more times (recorded as attempts)")
        ->capture_default_str();
    cmd->add_option("--request-timeout", flags->request_timeout,
                    "--target: give up on a request when nothing comes for this many seconds (0: 600)")
        ->capture_default_str();
    cmd->add_flag("--via-server", flags->via_server,
                  "run the -m models through hearth serve on a loopback port, so they pay the same HTTP path "
                  "as the --target servers");
    cmd->add_option("--target-watts", flags->target_watts,
                    "estimated power of a remote --target's machine (else its energy is not measured)");
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
