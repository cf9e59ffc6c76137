#pragma once
// A local HTTP server for the library tests, on loopback only: it speaks the two protocols
// `hearth pull` uses, serving whatever bytes a test gives it.
//   Hugging Face:  GET /api/models/OWNER/REPO/tree/main      -> [{type, path, size, oid, lfs:{oid,size}}]
//                  GET /OWNER/REPO/resolve/main/FILE         -> the bytes (Range supported)
//   Ollama:        GET /v2/NAMESPACE/MODEL/manifests/TAG     -> {schemaVersion, config, layers}
//                  GET /v2/NAMESPACE/MODEL/blobs/sha256:HEX  -> the bytes (Range supported)
// Knobs for failure tests: drop the connection half way through the next N downloads, slow
// every download down, and record the Range headers seen.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "library/sha256.h"

namespace hearth::test {

class LibraryFixtureServer {
public:
    LibraryFixtureServer() {
        server_.Get(R"(/api/models/([^/]+)/([^/]+)/tree/main)", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard<std::mutex> g(mu_);
            auto it = hf_.find(req.matches[1].str() + "/" + req.matches[2].str());
            if (it == hf_.end()) return not_found(res);
            nlohmann::json tree = nlohmann::json::array();
            for (const auto& f : it->second) {
                nlohmann::json e{{"type", "file"}, {"path", f.path}, {"size", f.bytes.size()}, {"oid", "0123abcd"}};
                if (f.lfs) e["lfs"] = {{"oid", f.listed_sha}, {"size", f.listed_size}, {"pointerSize", 134}};
                tree.push_back(e);
            }
            res.set_content(tree.dump(), "application/json");
        });
        server_.Get(R"(/([^/]+)/([^/]+)/resolve/main/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            std::string bytes;
            {
                std::lock_guard<std::mutex> g(mu_);
                auto it = hf_.find(req.matches[1].str() + "/" + req.matches[2].str());
                if (it == hf_.end()) return not_found(res);
                bool found = false;
                for (const auto& f : it->second)
                    if (f.path == req.matches[3].str()) bytes = f.bytes, found = true;
                if (!found) return not_found(res);
            }
            serve_bytes(req, res, std::move(bytes));
        });
        server_.Get(R"(/v2/([^/]+)/([^/]+)/manifests/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard<std::mutex> g(mu_);
            auto it = manifests_.find(req.matches[1].str() + "/" + req.matches[2].str() + ":" + req.matches[3].str());
            if (it == manifests_.end()) return not_found(res);
            res.set_content(it->second, "application/vnd.docker.distribution.manifest.v2+json");
        });
        server_.Get(R"(/v2/([^/]+)/([^/]+)/blobs/(sha256:[0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
            std::string bytes;
            {
                std::lock_guard<std::mutex> g(mu_);
                auto it = blobs_.find(req.matches[3].str());
                if (it == blobs_.end()) return not_found(res);
                bytes = it->second;
            }
            serve_bytes(req, res, std::move(bytes));
        });
        // What a running `hearth serve` answers on GET /api/ps (empty: 404).
        server_.Get("/api/ps", [this](const httplib::Request&, httplib::Response& res) {
            std::lock_guard<std::mutex> g(mu_);
            if (ps_json_.empty()) return not_found(res);
            res.set_content(ps_json_, "application/json");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~LibraryFixtureServer() {
        server_.stop();
        thread_.join();
    }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    // A file in a Hugging Face repository ("owner/repo"). `listed_sha` is what the tree claims
    // (default: the real sha256); lfs=false lists it like a small git file, without a sha256.
    // listed_size: what the tree claims (default: the real size).
    void add_hf_file(const std::string& repo, const std::string& path, std::string bytes, std::string listed_sha = "",
                     bool lfs = true, uint64_t listed_size = 0) {
        std::lock_guard<std::mutex> g(mu_);
        if (listed_sha.empty()) listed_sha = library::sha256_hex(bytes);
        if (listed_size == 0) listed_size = bytes.size();
        hf_[repo].push_back({path, std::move(bytes), listed_sha, lfs, listed_size});
    }

    // A registry model "namespace/model:tag": the GGUF plus small layers {mediaType, text}.
    void add_registry_model(const std::string& name_tag, const std::string& gguf,
                            const std::vector<std::pair<std::string, std::string>>& extra_layers = {}) {
        std::lock_guard<std::mutex> g(mu_);
        auto layer = [&](const std::string& media, const std::string& bytes) {
            std::string digest = "sha256:" + library::sha256_hex(bytes);
            blobs_[digest] = bytes;
            return nlohmann::json{{"mediaType", media}, {"digest", digest}, {"size", bytes.size()}};
        };
        nlohmann::json m{{"schemaVersion", 2}, {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"}};
        m["config"] = layer("application/vnd.docker.container.image.v1+json", R"({"model_format":"gguf"})");
        m["layers"] = nlohmann::json::array({layer("application/vnd.ollama.image.model", gguf)});
        for (const auto& [media, text] : extra_layers) m["layers"].push_back(layer(media, text));
        manifests_[name_tag] = m.dump();
    }

    std::atomic<int> drop_next{0};          // downloads to cut off half way through
    std::atomic<int> chunk_delay_ms{0};     // pause between 64 KiB chunks (to make pulls overlap)
    std::atomic<int> downloads{0};          // download requests served (blobs and files)

    void set_ps_json(std::string json) {
        std::lock_guard<std::mutex> g(mu_);
        ps_json_ = std::move(json);
    }

    std::vector<std::string> ranges_seen() {
        std::lock_guard<std::mutex> g(mu_);
        return ranges_;
    }

private:
    struct HfFile {
        std::string path, bytes, listed_sha;
        bool lfs;
        uint64_t listed_size;
    };

    static void not_found(httplib::Response& res) {
        res.status = 404;
        res.set_content(R"({"error":"not found"})", "application/json");
    }

    void serve_bytes(const httplib::Request& req, httplib::Response& res, std::string bytes) {
        downloads++;
        {
            std::lock_guard<std::mutex> g(mu_);
            ranges_.push_back(req.get_header_value("Range"));
        }
        auto data = std::make_shared<std::string>(std::move(bytes));
        auto sent = std::make_shared<size_t>(0);
        const bool drop = drop_next.fetch_sub(1) > 0;
        if (!drop) drop_next++;  // undo: this one is not dropped
        res.set_content_provider(data->size(), "application/octet-stream",
                                 [this, data, sent, drop](size_t offset, size_t length, httplib::DataSink& sink) {
                                     if (drop && *sent >= data->size() / 4) return false;  // cut the connection
                                     if (int ms = chunk_delay_ms.load())
                                         std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                                     size_t n = std::min<size_t>(length, 64 * 1024);
                                     sink.write(data->data() + offset, n);
                                     *sent += n;
                                     return true;
                                 });
    }

    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    std::mutex mu_;
    std::map<std::string, std::vector<HfFile>> hf_;
    std::map<std::string, std::string> manifests_, blobs_;
    std::vector<std::string> ranges_;
    std::string ps_json_;
};

}  // namespace hearth::test
