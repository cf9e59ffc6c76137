// hearth serve: an OpenAI- and Ollama-compatible HTTP server over one model, with continuous
// batching (src/engine/batch_scheduler.h) and the HTTP layer in src/serve/. This file only
// parses flags, loads the model and turns SIGINT/SIGTERM into a clean shutdown.
#include <charconv>
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "engine/loader.h"
#include "serve/server.h"

namespace hearth::cli {
namespace {

struct ServeFlags {
    ModelFlag model;
    SessionFlags session;
    std::string host = "127.0.0.1";
    int port = 8080;
    int parallel = 4;
    int max_queue = 64;
    std::string api_key;
    std::string alias;
    std::string template_file;
    size_t max_body = 4u << 20;
    SamplingParams sampling;
    std::string seed = "-1";
    bool json = false;
    bool no_parse_special = false;
    bool no_prompt_cache = false;
    bool no_access_log = false;
    bool metrics_public = false;
};

int run(const ServeFlags& f) {
    serve::ServerOptions o;
    o.host = f.host;
    o.port = f.port;
    o.api_key = f.api_key;
    o.alias = f.alias;
    o.max_body_bytes = f.max_body;
    o.parse_special = !f.no_parse_special;
    o.access_log = !f.no_access_log;
    o.metrics_public = f.metrics_public;
    if (!f.template_file.empty()) o.chat_template = read_input_file(f.template_file, "chat template file");
    const SessionOptions so = f.session.to_options();
    o.scheduler.n_slots = f.parallel;
    o.scheduler.max_queue = f.max_queue;
    o.scheduler.n_ctx = so.n_ctx;
    o.scheduler.n_threads = so.n_threads;
    o.scheduler.n_batch = so.n_batch;
    o.scheduler.kv_type = so.kv_type;
    o.scheduler.prompt_cache = !f.no_prompt_cache;
    o.sampling = f.sampling;
    o.sampling.seed = parse_seed(f.seed);
    o.sampling.validate();
    if (f.port < 0 || f.port > 65535) fail("--port must be in [0, 65535] (got {})", f.port);

    // SIGINT/SIGTERM are taken by one thread with sigwait: blocked here, before any other
    // thread starts, so every thread inherits the mask. SIGUSR1 wakes that thread at exit.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not a crash

    // -m takes a library name too; its name is then the model name clients see (unless --alias).
    const library::ResolvedModel model = f.model.resolve();
    if (model.from_library && o.alias.empty()) o.alias = model.name;
    if (model.tmpl && o.chat_template.empty()) o.chat_template = *model.tmpl;
    LoadedModel lm = load_model(model.path);
    print_warnings(lm);
    serve::Server server(std::move(lm), o);
    const int port = server.bind();

    // First SIGINT/SIGTERM: stop (in-flight requests may finish); a second: cancel them now.
    std::thread stopper;
    std::thread signals([&] {
        for (;;) {
            int sig = 0;
            sigwait(&set, &sig);
            if (sig == SIGUSR1) return;
            if (!stopper.joinable()) {
                std::fprintf(stderr, "hearth serve: %s: finishing in-flight requests and stopping "
                                     "(again to cancel them)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
                stopper = std::thread([&] { server.stop(); });
            } else {
                std::fprintf(stderr, "hearth serve: cancelling in-flight requests\n");
                server.hurry();
            }
        }
    });
    if (f.json) {
        nlohmann::json j = {{"host", f.host}, {"port", port}, {"model", server.model_name()},
                            {"url", "http://" + f.host + ":" + std::to_string(port)}};
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("hearth serve: %s on http://%s:%d (%d parallel, OpenAI /v1 and Ollama /api routes)\n",
                    server.model_name().c_str(), f.host.c_str(), port, f.parallel);
    }
    std::fflush(stdout);
    server.listen();
    pthread_kill(signals.native_handle(), SIGUSR1);
    signals.join();
    if (stopper.joinable()) stopper.join();
    return 0;
}

}  // namespace

CommandRunner add_serve_command(CLI::App& app) {
    auto flags = std::make_shared<ServeFlags>();
    CLI::App* cmd = app.add_subcommand("serve", "serve a model over HTTP (OpenAI and Ollama APIs)");
    cmd->footer(
        "Routes: POST /v1/chat/completions, POST /v1/completions, POST /v1/embeddings,\n"
        "        GET /v1/models (OpenAI); POST /api/generate, POST /api/chat, POST /api/embed,\n"
        "        POST /api/embeddings, GET /api/tags, GET /api/ps, POST /api/show,\n"
        "        GET /api/version (Ollama); GET /health (liveness) and GET /ready (readiness: 503\n"
        "        while draining) never need the key; GET /metrics (Prometheus) needs it unless\n"
        "        --metrics-public.\n"
        "Each answered request is logged to stderr as one JSON line (--no-access-log: off).\n"
        "Up to --parallel requests decode together in one batched forward pass per step; up to\n"
        "--max-queue more wait, beyond that requests get 503. -c is the context of EACH slot.\n"
        "A slot keeps its KV cache after a request: the next request goes to the free slot\n"
        "sharing the longest prompt prefix and evaluates only the rest (--no-prompt-cache: off).\n"
        "SIGINT/SIGTERM: stop accepting, let running requests finish (10 s; a second signal\n"
        "cancels them), exit 0.\n"
        "Examples:\n"
        "  hearth serve -m model.gguf\n"
        "  hearth serve -m model.gguf --port 0 --json --parallel 8 -c 2048 --api-key secret\n"
        "  curl http://127.0.0.1:8080/v1/chat/completions -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'");
    flags->model.add(*cmd);
    cmd->add_option("--host", flags->host, "address to listen on (loopback by default)")->capture_default_str();
    cmd->add_option("--port", flags->port, "TCP port (0: any free port, printed at startup)")->capture_default_str();
    cmd->add_option("-p,--parallel", flags->parallel, "requests decoded together (slots)")->capture_default_str();
    cmd->add_option("--max-queue", flags->max_queue, "requests that may wait for a slot; more get 503")
        ->capture_default_str();
    cmd->add_option("--api-key", flags->api_key, "require 'Authorization: Bearer KEY' on every route but /health");
    cmd->add_option("--alias", flags->alias, "model name in responses (default: general.name or the file name)");
    cmd->add_option("--chat-template-file", flags->template_file, "Jinja2 chat template to use instead of the model's");
    cmd->add_option("--max-body", flags->max_body, "largest request body in bytes (larger: 413)")->capture_default_str();
    cmd->add_flag("--no-parse-special", flags->no_parse_special,
                  "tokenize special-token text in /v1/completions and raw /api/generate prompts as plain text "
                  "(chat message text is always plain text)");
    cmd->add_flag("--no-prompt-cache", flags->no_prompt_cache,
                  "evaluate every prompt from its start (no reuse of a slot's cached prefix; for comparisons)");
    cmd->add_flag("--no-access-log", flags->no_access_log, "do not log each request as a JSON line on stderr");
    cmd->add_flag("--metrics-public", flags->metrics_public,
                  "serve GET /metrics without the API key (for a Prometheus that does not send it)");
    cmd->add_flag("--json", flags->json, "print the address as one JSON line at startup (for scripts)");
    flags->session.add(*cmd);
    add_sampling_flags(*cmd, flags->sampling, flags->seed);
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
