#pragma once
// Other runtimes side by side: the same prompts sent to an OpenAI-compatible server
// (POST /v1/chat/completions, streamed) or an Ollama-compatible one (POST /api/chat, streamed),
// timed from the stream on this machine.
//
//   http://127.0.0.1:8080                 OpenAI-compatible (llama-server, vLLM, hearth serve)
//   http://127.0.0.1:8080/v1#qwen2.5      … with the model name to request
//   http://127.0.0.1:11434/api/chat#llama3.2:1b   Ollama
#include <string>
#include <vector>

#include "cost/power.h"
#include "cost/prompts.h"
#include "cost/results.h"
#include "cost/runner.h"

namespace hearth::cost {

enum class TargetApi { OpenAI, Ollama };

struct Target {
    TargetApi api = TargetApi::OpenAI;
    std::string base;   // scheme://host:port
    std::string path;   // the endpoint posted to
    std::string model;  // the model name sent ("" sends "default" to OpenAI servers)
    std::string label;  // how results name it
};

// Throws hearth::Error naming the URL for anything not of the forms above.
Target parse_target(const std::string& url);

// One response's numbers read from a stream. Exposed for tests.
struct StreamStats {
    int prompt_tokens = 0;
    int gen_tokens = 0;
    double ttft_ms = 0, last_ms = 0;
    double pp_ts = 0, tg_ts = 0;
    std::string stop;
};

std::vector<CostSample> run_target(const Target& target, const std::vector<Prompt>& prompts,
                                   const RunOptions& options, PowerReader& power);

}  // namespace hearth::cost
