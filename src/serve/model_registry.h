#pragma once
// The models `hearth serve` has loaded, by name: each is loaded on its first request (one load,
// however many requests ask for it at once), kept for its keep_alive after its last request
// ends, and unloaded when that runs out, when a request says keep_alive 0, or when a model
// about to load needs its memory (idle models only, least recently used first). A model in use
// is never unloaded. Loading happens outside the registry's lock, so requests to models that
// are already loaded never wait for it. With -m the registry holds one pinned model that never
// unloads.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "serve/keep_alive.h"
#include "serve/served_model.h"

namespace hearth::serve {

struct RegistryOptions {
    uint64_t max_memory = 0;  // bytes all loaded models may need together; 0: no limit
    int max_loaded = 0;       // models loaded at once; 0: no limit
    KeepAlive keep_alive = std::chrono::minutes(5);  // when a request gives none; negative: forever
    // How long a load waits for models in use to finish when only they stand in its way.
    std::chrono::milliseconds wait_for_memory = std::chrono::minutes(2);
};

// How the registry finds, sizes and loads models (the server's: the library and `fit`'s
// accounting; tests may give their own).
struct ModelSource {
    // The model a request's name means, or nullopt when there is none (a 404).
    std::function<std::optional<ModelSpec>(const std::string& requested)> find;
    std::function<uint64_t(const ModelSpec&)> memory_need;
    std::function<std::unique_ptr<ServedModel>(const ModelSpec&)> load;
};

// A loaded model as /api/ps shows it.
struct LoadedInfo {
    std::shared_ptr<ServedModel> model;
    uint64_t memory_need = 0;
    std::optional<std::chrono::system_clock::time_point> expires_at;  // nullopt: never
    int in_use = 0;
};

class ModelRegistry {
public:
    ModelRegistry(ModelSource source, RegistryOptions options);
    // A registry of one model, loaded already, never unloaded (hearth serve -m).
    ModelRegistry(std::unique_ptr<ServedModel> pinned, ModelSource source);
    ~ModelRegistry();

    // A model in use: it stays loaded while any Lease on it lives. When the last one goes, the
    // model is kept for the keep_alive of that request (nullopt: the default).
    using Lease = std::shared_ptr<ServedModel>;
    // The model `requested` names, loaded if need be. Throws ApiError: 404 unknown name, 400 a
    // model larger than the budget, 503 when models in use hold the memory for too long or the
    // registry is stopping, 500 when loading fails.
    Lease acquire(const std::string& requested, std::optional<KeepAlive> keep_alive = std::nullopt);
    // Unloads the model now if loaded and idle, else when its last request ends. Returns
    // whether it was loaded.
    bool unload(const std::string& name);

    std::vector<LoadedInfo> loaded() const;
    const RegistryOptions& options() const { return options_; }
    // The pinned model (-m), or null.
    std::shared_ptr<ServedModel> pinned() const { return pinned_; }
    // The name a request's `model` resolves to, or nullopt (uses the source's find).
    std::optional<ModelSpec> find(const std::string& requested) const { return source_.find(requested); }

    // For shutdown: every loaded model's scheduler.
    void for_each_loaded(const std::function<void(ServedModel&)>& fn) const;
    // No loads after this; waits for the expiry thread.
    void stop();

private:
    struct Entry;
    using Clock = std::chrono::steady_clock;
    void release(const std::shared_ptr<Entry>& entry, std::optional<KeepAlive> keep_alive);
    // Takes idle models out (least recently used first) until `need` more bytes and one more
    // model fit; returns them to be destroyed outside the lock. Sets `fits`.
    std::vector<std::shared_ptr<Entry>> make_room(uint64_t need, bool& fits);
    uint64_t used_bytes() const;  // needs mu_
    void expire_loop();
    Lease lease_of(const std::shared_ptr<Entry>& entry, std::optional<KeepAlive> keep_alive);

    ModelSource source_;
    RegistryOptions options_;
    std::shared_ptr<ServedModel> pinned_;
    mutable std::mutex mu_;
    std::condition_variable changed_;  // a model was released, unloaded or loaded; or stop()
    std::map<std::string, std::shared_ptr<Entry>> entries_;
    bool stopping_ = false;
    std::thread expirer_;
};

}  // namespace hearth::serve
