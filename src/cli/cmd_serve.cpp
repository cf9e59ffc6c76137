// hearth serve: an OpenAI- and Ollama-compatible HTTP server over the model library (each model
// loaded on demand) or one model (-m), with continuous batching (src/engine/batch_scheduler.h)
// and the HTTP layer in src/serve/. This file only parses flags, loads a -m model and turns
// SIGINT/SIGTERM into a clean shutdown.
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
#include "fit/hardware.h"
#include "library/http.h"
#include "library/store.h"
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
    bool no_webui = false;
    std::string max_memory;       // "" : the default budget
    int max_loaded = 3;
    std::string keep_alive = "5m";
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
    o.webui = !f.no_webui;
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
    const bool library_mode = f.model.path.empty();
    if (library_mode && !f.alias.empty())
        fail("--alias names the -m model; without -m every model is called by its library name");
    o.library_home = f.model.home;
    o.registry.max_loaded = f.max_loaded;
    o.registry.keep_alive = serve::parse_keep_alive_text(f.keep_alive, "--keep-alive");
    if (library_mode) {
        o.registry.max_memory = f.max_memory.empty() ? serve::default_memory_budget()
                                                     : fit::parse_memory_size(f.max_memory, "--max-memory");
        if (o.registry.max_memory == 0) fail("--max-memory must be more than 0");
    }

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
    std::unique_ptr<serve::Server> served;
    if (library_mode) {
        served = std::make_unique<serve::Server>(o);
    } else {
        const library::ResolvedModel model = f.model.resolve();
        if (model.from_library && o.alias.empty()) o.alias = model.name;
        if (model.tmpl && o.chat_template.empty()) o.chat_template = *model.tmpl;
        if (!f.max_memory.empty()) {  // -m with a budget: refuse at startup what could never fit
            const uint64_t budget = fit::parse_memory_size(f.max_memory, "--max-memory");
            const uint64_t need = serve::serving_memory_need(model.path, o.scheduler);
            if (need > budget)
                fail("{} needs {} loaded with these flags (-c, --parallel, --kv-type), more than --max-memory {}",
                     model.name, library::human_size(need), library::human_size(budget));
        }
        LoadedModel lm = load_model(model.path);
        print_warnings(lm);
        served = std::make_unique<serve::Server>(std::move(lm), o);
    }
    serve::Server& server = *served;
    const int port = server.bind();
    const std::string home = library::Store::default_home(f.model.home).string();

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
        nlohmann::json j = {{"host", f.host}, {"port", port},
                            {"model", library_mode ? nlohmann::json() : nlohmann::json(server.model_name())},
                            {"url", "http://" + f.host + ":" + std::to_string(port)}};
        if (library_mode) {
            j["library"] = home;
            j["max_memory"] = o.registry.max_memory;
        }
        std::printf("%s\n", j.dump().c_str());
    } else {
        const std::string what = library_mode ? fmt::format("the library {} (models loaded on demand, {} budget)", home,
                                                            library::human_size(o.registry.max_memory))
                                              : server.model_name();
        std::printf("hearth serve: %s on http://%s:%d (%d parallel, OpenAI /v1 and Ollama /api routes)\n", what.c_str(),
                    f.host.c_str(), port, f.parallel);
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
    flags->model.optional = true;
    CLI::App* cmd = app.add_subcommand("serve", "serve the model library (or one model) over HTTP (OpenAI and Ollama APIs)");
    cmd->footer(
        "Routes: POST /v1/chat/completions, POST /v1/completions, POST /v1/embeddings,\n"
        "        GET /v1/models (OpenAI); POST /api/generate, POST /api/chat, POST /api/embed,\n"
        "        POST /api/embeddings, GET /api/tags, GET /api/ps, POST /api/show, POST /api/pull,\n"
        "        DELETE /api/delete, POST /api/copy, GET /api/version (Ollama); GET /health (never\n"
        "        needs the key), GET /ready (readiness: 503 while draining; never needs the key),\n"
        "        GET /metrics (Prometheus; needs the key unless --metrics-public).\n"
        "GET / is a web page (chat, model library; --no-webui: off); it asks for --api-key's key.\n"
        "Each answered request is logged to stderr as one JSON line (--no-access-log: off).\n"
        "Without -m every library model is served: a request's \"model\" picks it; it is loaded on\n"
        "first use and unloaded --keep-alive after its last request (a request's keep_alive\n"
        "overrides: 0 unloads at once, negative keeps it). Before loading, hearth computes the\n"
        "model's memory as hearth fit does (weights, KV cache of every slot, compute) and unloads\n"
        "idle models, least recently used first, to stay within --max-memory and --max-loaded.\n"
        "Up to --parallel requests decode together in one batched forward pass per step; up to\n"
        "--max-queue more wait, beyond that requests get 503. -c is the context of EACH slot.\n"
        "A slot keeps its KV cache after a request: the next request goes to the free slot\n"
        "sharing the longest prompt prefix and evaluates only the rest (--no-prompt-cache: off).\n"
        "SIGINT/SIGTERM: stop accepting, let running requests finish (10 s; a second signal\n"
        "cancels them), exit 0.\n"
        "Examples:\n"
        "  hearth serve                        (every model of the library, on demand)\n"
        "  hearth serve --max-memory 16G --max-loaded 2 --keep-alive 10m\n"
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
    cmd->add_flag("--no-webui", flags->no_webui, "do not serve the web page at / (chat and model library)");
    cmd->add_option("--max-memory", flags->max_memory,
                    fmt::format("memory all loaded models may need together, e.g. 16G (default: the RAM hearth fit "
                                "counts as usable, less {}%)",
                                serve::kMemoryHeadroomPercent));
    cmd->add_option("--max-loaded", flags->max_loaded, "models loaded at once (0: as many as --max-memory holds)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--keep-alive", flags->keep_alive,
                    "how long a model stays loaded after its last request (5m, 1h30m, seconds; 0: unload at once; "
                    "negative: forever)")
        ->capture_default_str();
    cmd->add_flag("--json", flags->json, "print the address as one JSON line at startup (for scripts)");
    flags->session.add(*cmd);
    add_sampling_flags(*cmd, flags->sampling, flags->seed);
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
