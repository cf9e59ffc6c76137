#pragma once
// The HTTP front of `hearth serve`: OpenAI routes (/v1/chat/completions, /v1/completions,
// /v1/models, /v1/embeddings), Ollama routes (/api/generate, /api/chat, /api/embed,
// /api/embeddings, /api/tags, /api/ps, /api/show, /api/version), /health (liveness), /ready
// (readiness: 503 while draining) and /metrics (Prometheus), over one model
// and a BatchScheduler. cpp-httplib serves each connection on its own thread; generation
// happens on the scheduler's thread, and a request's thread only waits for its text and writes
// it out (streaming flushes each piece).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "chat/tool_calls.h"
#include "engine/batch_scheduler.h"
#include "engine/chat_session.h"
#include "engine/embed.h"
#include "engine/loader.h"
#include "grammar/token_constraint.h"
#include "sample/sampler.h"
#include "serve/embed_request.h"

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
    std::string alias;                  // model name in responses ("": general.name or the file name)
    size_t max_body_bytes = 4u << 20;   // larger request bodies get 413
    bool parse_special = true;          // special-token text in /v1/completions and raw /api/generate prompts
    double shutdown_grace_s = 10;       // on stop(): how long in-flight requests may finish
    bool access_log = true;             // one JSON line per request on stderr (serve/access_log.h)
    bool metrics_public = false;        // GET /metrics without the API key (for a scraper without it)
    SchedulerOptions scheduler;
    SamplingParams sampling;            // defaults for values a request does not set
};

class Server {
public:
    // Takes the loaded model (kept alive for the server's lifetime); starts the scheduler.
    Server(LoadedModel model, ServerOptions options);
    ~Server();

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
    // The embedding routes (embed_route.cpp): the response body, or ApiError.
    nlohmann::ordered_json embed(const EmbedRequest& request);

    LoadedModel model_;
    ServerOptions options_;
    std::string name_;
    std::unique_ptr<ChatFormat> chat_format_;
    chat::ToolCallFamily tool_family_ = chat::ToolCallFamily::None;  // how the template's model writes calls
    std::unique_ptr<BatchScheduler> scheduler_;
    // The vocabulary as a trie for grammar-constrained replies: built on the first such request.
    std::once_flag vocab_once_;
    std::shared_ptr<const grammar::VocabTrie> vocab_;
    // Embeddings run beside the scheduler, not through it: their own threads and per-request KV
    // caches over the shared read-only weights, one request at a time (embed_route.cpp says why).
    std::mutex embed_mutex_;
    std::unique_ptr<Embedder> embedder_;  // made on the first embedding request
    std::unique_ptr<Metrics> metrics_;  // GET /metrics (serve/metrics.h)
    std::unique_ptr<httplib::Server> http_;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> hurry_{false};

    struct Impl;
    friend struct Impl;
};

}  // namespace hearth::serve
