#pragma once
// Other runtimes side by side: the same prompts sent to an OpenAI-compatible server
// (POST /v1/chat/completions, streamed) or an Ollama-compatible one (POST /api/chat, streamed),
// timed from the stream on this machine (client side) and by the server's own timings where it
// reports them (engine side: llama-server's `timings`, Ollama's durations). A request that fails
// becomes a sample with a status and an error, and the run goes on.
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
    std::string backend;  // how results name the runtime ("": "openai" or "ollama")
};

// Throws hearth::Error naming the URL for anything not of the forms above.
Target parse_target(const std::string& url);

// Whether the target runs on this machine (localhost, 127.0.0.0/8, ::1), so that this
// machine's power readings are the server's.
bool is_local_target(const Target& target);

// One response's numbers read from a stream. Exposed for tests.
struct StreamStats {
    int prompt_tokens = 0;
    int gen_tokens = 0;
    double ttft_ms = 0, last_ms = 0;
    double pp_ts = 0, tg_ts = 0;                // client side
    double engine_pp_ts = 0, engine_tg_ts = 0;  // engine side (0: not reported)
    bool tokens_reported = false;               // false: gen_tokens counts content chunks
    std::string stop;
};

std::vector<CostSample> run_target(const Target& target, const std::vector<Prompt>& prompts,
                                   const RunOptions& options, PowerReader& power);

}  // namespace hearth::cost
