#pragma once
// The HTTP front of `hearth serve`: OpenAI routes (/v1/chat/completions, /v1/completions,
// /v1/models, /v1/embeddings), Ollama routes (/api/generate, /api/chat, /api/embed,
// /api/embeddings, /api/tags, /api/ps, /api/show, /api/pull, /api/delete, /api/copy,
// /api/version), /health (liveness), /ready (readiness: 503 while draining) and /metrics
// (Prometheus), and a web page at / (serve/webui.h). The models come from a ModelRegistry: every model of the library,
// loaded on demand (serve/model_registry.h), or one pinned model (-m). cpp-httplib serves each
// connection on its own thread; generation happens on each model's scheduler thread, and a
// request's thread only waits for its text and writes it out (streaming flushes each piece).
#include <atomic>
#include <memory>
#include <string>

#include "engine/loader.h"
#include "sample/sampler.h"
#include "serve/embed_request.h"
#include "serve/model_registry.h"

namespace httplib {
class Server;
}

namespace hearth::serve {

class Metrics;

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;                    // 0: any free port (see Server::port())
    std::string api_key;                // "": no key needed
    std::string chat_template;          // Jinja2 source to use instead of the model's ("": the model's)
    std::string alias;                  // -m: model name in responses ("": general.name or the file name)
    std::string library_home;           // the model library (--home; "": $HEARTH_HOME or the default)
    RegistryOptions registry;           // without -m: memory budget, models loaded at once, keep_alive
    size_t max_body_bytes = 4u << 20;   // larger request bodies get 413
    bool parse_special = true;          // special-token text in /v1/completions and raw /api/generate prompts
    double shutdown_grace_s = 10;       // on stop(): how long in-flight requests may finish
    bool access_log = true;             // one JSON line per request on stderr (serve/access_log.h)
    bool metrics_public = false;        // GET /metrics without the API key (for a scraper without it)
    bool webui = true;                  // the web page at / and /webui/... (serve/webui.h)
    SchedulerOptions scheduler;
    SamplingParams sampling;            // defaults for values a request does not set
};

class Server {
public:
    // Serves the one model given (kept loaded for the server's lifetime): hearth serve -m.
    Server(LoadedModel model, ServerOptions options);
    // Serves every model of the library at options.library_home, each loaded on first use.
    explicit Server(ServerOptions options);
    ~Server();

    // The pinned model's name; "" when serving the library.
    const std::string& model_name() const { return name_; }
    // Binds the listening socket (throws hearth::Error when it cannot) and returns the port.
    int bind();
    int port() const { return port_; }
    // Serves until stop(); returns once every connection is closed.
    void listen();
    // Stops accepting work, lets in-flight requests finish for shutdown_grace_s, cancels the
    // rest and closes the listener. Safe from any thread; idempotent.
    void stop();
    // Makes a running stop() cancel in-flight requests now instead of waiting (a second Ctrl-C).
    void hurry() { hurry_ = true; }

private:
    void routes();
    void probe_routes();  // /ready and /metrics
    void webui_routes();  // / and /webui/... (serve/webui.h)
    // /api/tags, /v1/models, /api/pull, /api/delete, /api/copy (library_routes.cpp).
    void library_routes();
    // The embedding routes (embed_route.cpp): the response body, or ApiError.
    nlohmann::ordered_json embed(ServedModel& model, const EmbedRequest& request);
    // The model a request names, loaded and in use until the lease goes. Throws ApiError.
    ModelRegistry::Lease acquire(const std::string& requested, std::optional<KeepAlive> keep_alive);
    // Ollama's request without a prompt: loads the model (kept keep_alive), or with keep_alive 0
    // unloads it. Returns "load" or "unload" (the done_reason).
    std::string load_or_unload(const std::string& requested, std::optional<KeepAlive> keep_alive);
    ModelSource library_source() const;

    ServerOptions options_;
    std::string name_;  // the pinned model's name ("" when serving the library)
    std::unique_ptr<ModelRegistry> registry_;
    std::unique_ptr<Metrics> metrics_;  // GET /metrics (serve/metrics.h)
    std::unique_ptr<httplib::Server> http_;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> hurry_{false};

    struct Impl;
    friend struct Impl;
};

}  // namespace hearth::serve
