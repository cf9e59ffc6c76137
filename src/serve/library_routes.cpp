// The library routes of `hearth serve`: GET /api/tags and /v1/models list the library (with -m:
// the one model), POST /api/pull fetches a model into it (progress as NDJSON, as Ollama),
// DELETE /api/delete removes one (unloading it first), POST /api/copy names one again. Behind
// --api-key like every route; they change only the library folder, never a file outside it.
#include <chrono>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>
#include <httplib.h>

#include "common/error.h"
#include "gguf/gguf.h"
#include "library/pull.h"
#include "library/store.h"
#include "serve/format.h"
#include "serve/json_body.h"
#include "serve/model_info.h"
#include "serve/server.h"

namespace hearth::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

void send(httplib::Response& res, int status, const ordered_json& body) {
    res.status = status;
    res.set_content(dump_json(body), "application/json");
}

void send_ollama_error(httplib::Response& res, const ApiError& e) { send(res, e.status, ollama_error(e.what())); }

std::chrono::system_clock::time_point system_time(fs::file_time_type t) {
    return std::chrono::time_point_cast<std::chrono::system_clock::duration>(t - fs::file_time_type::clock::now() +
                                                                             std::chrono::system_clock::now());
}

// A request body's JSON object. Throws ApiError (400).
ordered_json body_object(const std::string& text) {
    const ordered_json j = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) body::bad("the request body is not valid JSON", "invalid_json");
    if (!j.is_object()) body::bad(fmt::format("the request body must be a JSON object, got {}", body::kind_of(j)), "invalid_type");
    return j;
}

// The string field `key` (or, when absent, `alt`); "" when neither is given. Throws ApiError.
std::string string_field(const ordered_json& j, const char* key, const char* alt = nullptr) {
    const ordered_json* v = body::field(j, key);
    if (!v && alt) v = body::field(j, alt);
    if (!v) return "";
    if (!v->is_string()) body::bad(fmt::format("'{}' must be a string, got {}", key, body::kind_of(*v)), "invalid_type");
    return v->get<std::string>();
}

library::ModelName name_field(const ordered_json& j, const char* key, const char* alt = nullptr) {
    const std::string text = string_field(j, key, alt);
    if (text.empty()) body::bad(fmt::format("'{}' is required", key), "missing_field");
    try {
        return library::parse_model_name(text);
    } catch (const Error& e) {
        body::bad(fmt::format("'{}': {}", key, e.what()), "invalid_value");
    }
}

// One /api/tags entry for a library model (a model whose file went away still lists).
ordered_json tags_entry(const library::Store& store, const library::Store::Entry& e) {
    const library::Layer* weights = e.manifest.find(library::media::kModel);
    ordered_json details = ordered_json::object();
    std::string path;
    try {
        path = store.model_file(e.manifest, e.name);
        details = model_details(*gguf::File::open(path));
    } catch (const Error&) {
    }
    return {{"name", e.name.display()},
            {"model", e.name.display()},
            {"modified_at", rfc3339(system_time(e.modified))},
            {"size", e.manifest.total_size()},
            {"digest", bare_digest(weights_digest(weights ? weights->digest : "", path))},
            {"details", details}};
}

}  // namespace

void Server::library_routes() {
    httplib::Server& h = *http_;
    auto store = [this] { return library::Store(library::Store::default_home(options_.library_home)); };

    h.Get("/api/tags", [this, store](const httplib::Request&, httplib::Response& r) {
        ordered_json models = ordered_json::array();
        if (const auto pinned = registry_->pinned()) {
            const gguf::File& f = *pinned->loaded.file;
            models.push_back({{"name", name_ + ":latest"},
                              {"model", name_ + ":latest"},
                              {"modified_at", rfc3339_now()},
                              {"size", f.file_size()},
                              {"digest", bare_digest(pinned->spec.digest)},
                              {"details", model_details(f)}});
        } else {
            const library::Store s = store();
            for (const auto& e : s.list()) models.push_back(tags_entry(s, e));
        }
        send(r, 200, {{"models", models}});
    });
    h.Get("/v1/models", [this, store](const httplib::Request&, httplib::Response& r) {
        ordered_json data = ordered_json::array();
        auto entry = [](const std::string& id, int64_t created) {
            return ordered_json{{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "hearth"}};
        };
        if (registry_->pinned()) {
            data.push_back(entry(name_, std::time(nullptr)));
        } else {
            for (const auto& e : store().list())
                data.push_back(entry(e.name.display(),
                                     std::chrono::system_clock::to_time_t(system_time(e.modified))));
        }
        send(r, 200, {{"object", "list"}, {"data", data}});
    });

    h.Delete("/api/delete", [this, store](const httplib::Request& q, httplib::Response& r) {
        try {
            const library::ModelName name = name_field(body_object(q.body), "model", "name");
            library::Store s = store();
            if (!s.read_manifest(name))
                throw ApiError(404, fmt::format("model '{}' not found", name.display()), "invalid_request_error",
                               "model_not_found");
            registry_->unload(name.display());  // now if idle, else when its requests end
            s.remove(name);
            r.status = 200;
        } catch (const ApiError& e) {
            send_ollama_error(r, e);
        } catch (const Error& e) {
            send_ollama_error(r, ApiError(500, e.what(), "server_error"));
        }
    });

    h.Post("/api/copy", [store](const httplib::Request& q, httplib::Response& r) {
        try {
            const ordered_json j = body_object(q.body);
            const library::ModelName from = name_field(j, "source");
            const library::ModelName to = name_field(j, "destination");
            library::Store s = store();
            const std::optional<library::Manifest> manifest = s.read_manifest(from);
            if (!manifest)
                throw ApiError(404, fmt::format("model '{}' not found", from.display()), "invalid_request_error",
                               "model_not_found");
            s.write_manifest(to, *manifest);
            r.status = 200;
        } catch (const ApiError& e) {
            send_ollama_error(r, e);
        } catch (const Error& e) {
            send_ollama_error(r, ApiError(500, e.what(), "server_error"));
        }
    });

    // Streamed (the default): one NDJSON status line per step and progress of each download,
    // ending in {"status":"success"} or {"error": ...}; stream false: that last line alone.
    h.Post("/api/pull", [store](const httplib::Request& q, httplib::Response& r) {
        library::ModelName name;
        bool stream = true;
        try {
            const ordered_json j = body_object(q.body);
            name = name_field(j, "model", "name");
            if (const ordered_json* v = body::field(j, "stream")) {
                if (!v->is_boolean()) body::bad(fmt::format("'stream' must be a boolean, got {}", body::kind_of(*v)), "invalid_type");
                stream = v->get<bool>();
            }
        } catch (const ApiError& e) {
            return send_ollama_error(r, e);
        }
        // Runs the pull, handing each status line to `emit` (which returns false when the client is gone).
        auto run = [store, name](const std::function<bool(const ordered_json&)>& emit) {
            struct ClientGone {};
            auto say = [&](const ordered_json& line) {
                if (!emit(line)) throw ClientGone{};
            };
            try {
                library::Store s = store();
                s.ensure_dirs();
                library::PullEvents events;
                events.note = [&](const std::string& text) { say({{"status", text}}); };
                uint64_t last = 0;
                events.progress = [&](const std::string& label, uint64_t done, uint64_t total) {
                    if (done != total && done < last + (4u << 20) && done >= last) return;  // every 4 MiB
                    last = done == total ? 0 : done;
                    say({{"status", "pulling " + label}, {"digest", label}, {"total", total}, {"completed", done}});
                };
                say({{"status", "pulling manifest"}});
                library::pull(s, name, events);
                say({{"status", "verifying sha256 digest"}});
                say({{"status", "writing manifest"}});
                say({{"status", "success"}});
                return true;
            } catch (const ClientGone&) {
                return false;
            } catch (const Error& e) {
                emit(ollama_error(e.what()));
                return false;
            }
        };
        if (!stream) {
            ordered_json last;
            run([&](const ordered_json& line) {
                last = line;
                return true;
            });
            return send(r, last.contains("error") ? 500 : 200, last);
        }
        r.set_chunked_content_provider("application/x-ndjson", [run](size_t, httplib::DataSink& sink) {
            run([&](const ordered_json& line) {
                const std::string text = ndjson_line(line);
                return sink.write(text.data(), text.size());
            });
            sink.done();
            return true;
        });
    });
}

}  // namespace hearth::serve
