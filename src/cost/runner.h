#pragma once
// Runs prompts and measures each response: tokens, speeds, time to first token and the energy
// the power reader saw. Local models go through the engine in-process; --target servers are
// spoken to over HTTP (cost/target.h).
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "cost/power.h"
#include "cost/prompts.h"
#include "cost/results.h"
#include "cost/results_log.h"
#include "engine/session.h"
#include "sample/sampler.h"

namespace hearth::cost {

struct RunOptions {
    int runs = 1;           // repetitions of the whole prompt set
    int n_predict = 128;    // per prompt, unless the prompt sets its own
    bool warmup = true;     // one short unrecorded generation first (page cache, thread start-up)
    bool parse_special = true;  // special-token text in prompts (models without a chat template)
    SamplingParams sampling;
    SessionOptions session;
    bool fail_fast = false;            // stop at the first failed response
    int retries = 0;                   // --target: further tries of a failed request, recorded in `attempts`
    double request_timeout_s = 0;      // --target: give up when nothing comes for this long (0: 600 s)
    const std::atomic<bool>* stop = nullptr;      // set (by a signal): stop after the current response
    std::function<bool(const SampleKey&)> skip;   // responses already measured (--resume)
    std::function<void(const CostSample&)> on_sample;  // called after each response, failed ones too
};

// Whether a run loop should end before its next response: a stop was asked for, or with
// fail_fast the last response failed.
bool should_stop(const RunOptions& options, const CostSample* last);

// Fills the energy fields of `s` from a measurement over the response.
void apply_energy(CostSample& s, double joules, double seconds, const PowerReader& reader);

// Generation speed as the runs report it: tokens after the first over the time from the first
// to the last (the first token's time is the prompt's); 0 when fewer than two tokens came.
double generation_rate(int gen_tokens, double first_ms, double last_ms);

// Loads `model_path` and runs every prompt `runs` times through the model's chat template
// (raw text with BOS when the model has none). `label` names the model in the results. An
// engine error in one response becomes a failed sample (kStatusModelError); the run goes on.
std::vector<CostSample> run_local_model(const std::string& model_path, const std::string& label,
                                        const std::vector<Prompt>& prompts, const RunOptions& options,
                                        PowerReader& power);

}  // namespace hearth::cost
