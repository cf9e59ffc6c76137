#pragma once
// eval-cost --via-server: hearth serve inside the evaluating process, on a loopback port.
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "cost/runner.h"
#include "cost/target.h"
#include "engine/loader.h"
#include "serve/server.h"

namespace hearth::cli {

// hearth serve in this process on a loopback port, so a local model pays the same HTTP path
// as the servers it is compared with. No prompt cache: every request evaluates its prompt,
// as the in-process runs do.
class LoopbackServer {
public:
    LoopbackServer(const std::string& path, const cost::RunOptions& ro) {
        serve::ServerOptions so;
        so.host = "127.0.0.1";
        so.port = 0;
        so.parse_special = ro.parse_special;
        so.sampling = ro.sampling;
        so.scheduler.n_slots = 1;
        so.scheduler.n_ctx = ro.session.n_ctx;
        so.scheduler.n_threads = ro.session.n_threads;
        so.scheduler.n_batch = ro.session.n_batch;
        so.scheduler.kv_type = ro.session.kv_type;
        so.scheduler.prompt_cache = false;
        server_ = std::make_unique<serve::Server>(load_model(path), so);
        port_ = server_->bind();
        thread_ = std::thread([this] { server_->listen(); });
    }
    ~LoopbackServer() {
        server_->hurry();
        server_->stop();
        thread_.join();
    }
    // Ollama's API: hearth serve reports its engine's durations there.
    cost::Target target() const {
        cost::Target t;
        t.api = cost::TargetApi::Ollama;
        t.base = fmt::format("http://127.0.0.1:{}", port_);
        t.path = "/api/chat";
        t.model = server_->model_name();
        t.backend = "hearth serve";
        return t;
    }

private:
    std::unique_ptr<serve::Server> server_;
    int port_ = 0;
    std::thread thread_;
};

}  // namespace hearth::cli
