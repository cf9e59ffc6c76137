#include "serve/model_registry.h"

#include <algorithm>
#include <future>

#include <fmt/format.h>

#include "common/error.h"
#include "serve/request.h"

namespace hearth::serve {

struct ModelRegistry::Entry {
    ModelSpec spec;
    uint64_t need = 0;
    std::shared_future<std::shared_ptr<ServedModel>> ready;  // the one load every first request waits on
    std::shared_ptr<ServedModel> model;                      // set once loaded
    int in_use = 0;                                          // leases alive, and requests waiting on the load
    bool pinned = false;
    bool unload_when_idle = false;                           // asked to unload while in use
    Clock::time_point last_used;
    std::optional<Clock::time_point> expires;                // while idle; nullopt: never
};

namespace {

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

}  // namespace

ModelRegistry::ModelRegistry(ModelSource source, RegistryOptions options)
    : source_(std::move(source)), options_(options) {
    expirer_ = std::thread([this] { expire_loop(); });
}

ModelRegistry::ModelRegistry(std::unique_ptr<ServedModel> pinned, ModelSource source) : source_(std::move(source)) {
    auto e = std::make_shared<Entry>();
    e->spec = pinned->spec;
    e->pinned = true;
    if (source_.memory_need) e->need = source_.memory_need(e->spec);  // what /api/ps shows
    e->model = pinned_ = std::shared_ptr<ServedModel>(std::move(pinned));
    std::promise<std::shared_ptr<ServedModel>> p;
    p.set_value(e->model);
    e->ready = p.get_future().share();
    e->last_used = Clock::now();
    entries_[e->spec.name] = e;
    expirer_ = std::thread([this] { expire_loop(); });
}

ModelRegistry::~ModelRegistry() {
    stop();
    std::map<std::string, std::shared_ptr<Entry>> gone;
    {
        std::lock_guard<std::mutex> lock(mu_);
        gone.swap(entries_);
    }
}

void ModelRegistry::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (expirer_.joinable()) expirer_.join();
}

uint64_t ModelRegistry::used_bytes() const {
    uint64_t used = 0;
    for (const auto& [name, e] : entries_) used += e->need;
    return used;
}

std::vector<std::shared_ptr<ModelRegistry::Entry>> ModelRegistry::make_room(uint64_t need, bool& fits) {
    std::vector<std::shared_ptr<Entry>> gone;
    auto fits_now = [&] {
        const bool memory_ok = options_.max_memory == 0 || used_bytes() + need <= options_.max_memory;
        const bool count_ok = options_.max_loaded <= 0 || entries_.size() < static_cast<size_t>(options_.max_loaded);
        return memory_ok && count_ok;
    };
    // Unload nothing when unloading every idle model would still not make room: the load has
    // to wait for models in use anyway, and the idle ones may be asked for meanwhile.
    uint64_t busy_bytes = 0;
    size_t busy_models = 0;
    for (const auto& [name, e] : entries_)
        if (!e->model || e->in_use > 0 || e->pinned) busy_bytes += e->need, ++busy_models;
    const bool could_fit = (options_.max_memory == 0 || busy_bytes + need <= options_.max_memory) &&
                           (options_.max_loaded <= 0 || busy_models < static_cast<size_t>(options_.max_loaded));
    if (!could_fit) {
        fits = false;
        return gone;
    }
    while (!(fits = fits_now())) {
        std::shared_ptr<Entry> lru;
        for (const auto& [name, e] : entries_)
            if (e->model && e->in_use == 0 && !e->pinned && (!lru || e->last_used < lru->last_used)) lru = e;
        if (!lru) break;  // what is left is in use or still loading
        entries_.erase(lru->spec.name);
        gone.push_back(lru);
    }
    return gone;
}

ModelRegistry::Lease ModelRegistry::lease_of(const std::shared_ptr<Entry>& entry, std::optional<KeepAlive> keep_alive) {
    std::shared_ptr<ServedModel> model = entry->ready.get();
    ServedModel* raw = model.get();
    return Lease(raw, [this, entry, keep_alive, hold = std::move(model)](ServedModel*) { release(entry, keep_alive); });
}

ModelRegistry::Lease ModelRegistry::acquire(const std::string& requested, std::optional<KeepAlive> keep_alive) {
    const std::optional<ModelSpec> spec = source_.find(requested);
    if (!spec)
        throw ApiError(404, fmt::format("model '{}' not found", requested), "invalid_request_error",
                       "model_not_found");
    std::optional<uint64_t> need;  // computed once, outside the lock (it reads the file's header)
    std::unique_lock<std::mutex> lock(mu_);
    const auto deadline = Clock::now() + options_.wait_for_memory;
    for (;;) {
        if (stopping_) throw ApiError(503, "the server is shutting down", "server_error", "shutting_down");
        if (auto it = entries_.find(spec->name); it != entries_.end()) {
            std::shared_ptr<Entry> e = it->second;
            ++e->in_use;
            lock.unlock();
            try {
                return lease_of(e, keep_alive);
            } catch (...) {  // its load failed; the loading request removed the entry
                std::lock_guard<std::mutex> relock(mu_);
                --e->in_use;
                throw;
            }
        }
        if (!need) {
            lock.unlock();
            try {
                need = source_.memory_need(*spec);
            } catch (const Error& e) {
                throw ApiError(500, fmt::format("cannot size model '{}': {}", spec->name, e.what()), "server_error",
                               "load_failed");
            }
            lock.lock();
            continue;  // another request may have started loading it meanwhile
        }
        if (options_.max_memory && *need > options_.max_memory)
            throw ApiError(400,
                           fmt::format("model '{}' needs {} bytes ({}) loaded, but this server's memory budget is {} "
                                       "bytes ({}); it can never fit (raise --max-memory, lower -c or --parallel)",
                                       spec->name, *need, mib(*need), options_.max_memory, mib(options_.max_memory)),
                           "invalid_request_error", "model_too_large");
        bool fits = false;
        std::vector<std::shared_ptr<Entry>> evicted = make_room(*need, fits);
        if (!evicted.empty()) {
            lock.unlock();
            evicted.clear();  // the models are destroyed here, outside the lock
            lock.lock();
            continue;
        }
        if (!fits) {
            // Only models in use (or loading) stand in the way: wait for one to be released.
            if (changed_.wait_until(lock, deadline) == std::cv_status::timeout)
                throw ApiError(503,
                               fmt::format("model '{}' needs {} but the models in use hold {} of the {} budget; "
                                           "retry later",
                                           spec->name, mib(*need), mib(used_bytes()), mib(options_.max_memory)),
                               "server_error", "memory_busy");
            continue;
        }
        auto e = std::make_shared<Entry>();
        e->spec = *spec;
        e->need = *need;
        e->in_use = 1;
        e->last_used = Clock::now();
        std::promise<std::shared_ptr<ServedModel>> loaded;
        e->ready = loaded.get_future().share();
        entries_[spec->name] = e;
        lock.unlock();
        try {
            std::shared_ptr<ServedModel> model = source_.load(*spec);
            {
                std::lock_guard<std::mutex> relock(mu_);
                e->model = model;
            }
            loaded.set_value(std::move(model));
        } catch (const std::exception& ex) {
            ApiError err(500, fmt::format("cannot load model '{}': {}", spec->name, ex.what()), "server_error",
                         "load_failed");
            {
                std::lock_guard<std::mutex> relock(mu_);
                entries_.erase(spec->name);
                --e->in_use;
            }
            loaded.set_exception(std::make_exception_ptr(err));
            changed_.notify_all();
            throw err;
        }
        changed_.notify_all();
        return lease_of(e, keep_alive);
    }
}

void ModelRegistry::release(const std::shared_ptr<Entry>& entry, std::optional<KeepAlive> keep_alive) {
    std::shared_ptr<Entry> gone;
    {
        std::lock_guard<std::mutex> lock(mu_);
        --entry->in_use;
        entry->last_used = Clock::now();
        if (!entry->pinned) {
            const KeepAlive keep = keep_alive.value_or(options_.keep_alive);
            if (keep.count() < 0) entry->expires.reset();
            else entry->expires = entry->last_used + keep;
            const bool now = keep.count() == 0 || entry->unload_when_idle;
            auto it = entries_.find(entry->spec.name);
            if (entry->in_use == 0 && now && it != entries_.end() && it->second == entry) {
                gone = entry;
                entries_.erase(it);
            }
        }
    }
    changed_.notify_all();
    if (gone) gone->model.reset();  // unloaded here, outside the lock (the lease still holds it a moment)
}

bool ModelRegistry::unload(const std::string& name) {
    std::shared_ptr<Entry> gone;
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = entries_.find(name);
        if (it == entries_.end() || it->second->pinned) return false;
        if (it->second->in_use > 0) {
            it->second->unload_when_idle = true;
            return true;
        }
        gone = it->second;
        entries_.erase(it);
    }
    changed_.notify_all();
    return true;
}

std::vector<LoadedInfo> ModelRegistry::loaded() const {
    std::vector<LoadedInfo> out;
    std::lock_guard<std::mutex> lock(mu_);
    const auto steady_now = Clock::now();
    const auto system_now = std::chrono::system_clock::now();
    for (const auto& [name, e] : entries_) {
        if (!e->model) continue;  // still loading
        LoadedInfo info{e->model, e->need, std::nullopt, e->in_use};
        // In use: it will be kept the default keep_alive after the request ends, shown from now.
        std::optional<Clock::time_point> until = e->expires;
        if (e->in_use > 0) until = options_.keep_alive.count() < 0 ? std::nullopt : std::optional(steady_now + options_.keep_alive);
        if (e->pinned) until.reset();
        if (until)
            info.expires_at = system_now + std::chrono::duration_cast<std::chrono::system_clock::duration>(*until - steady_now);
        out.push_back(std::move(info));
    }
    return out;
}

void ModelRegistry::for_each_loaded(const std::function<void(ServedModel&)>& fn) const {
    std::vector<std::shared_ptr<ServedModel>> models;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [name, e] : entries_)
            if (e->model) models.push_back(e->model);
    }
    for (const auto& m : models) fn(*m);
}

void ModelRegistry::expire_loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
        std::optional<Clock::time_point> next;
        std::vector<std::shared_ptr<Entry>> gone;
        const auto now = Clock::now();
        for (auto it = entries_.begin(); it != entries_.end();) {
            const Entry& e = *it->second;
            if (e.model && e.in_use == 0 && !e.pinned && e.expires) {
                if (*e.expires <= now) {
                    gone.push_back(it->second);
                    it = entries_.erase(it);
                    continue;
                }
                if (!next || *e.expires < *next) next = e.expires;
            }
            ++it;
        }
        if (!gone.empty()) {
            lock.unlock();
            gone.clear();
            changed_.notify_all();
            lock.lock();
            continue;
        }
        if (next) changed_.wait_until(lock, *next);
        else changed_.wait(lock);
    }
}

}  // namespace hearth::serve
