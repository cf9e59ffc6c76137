#pragma once
// The model library on disk: plain files a user can inspect.
//   HOME/blobs/sha256-<hex>                      content-addressed blobs (GGUF weights, small text layers)
//   HOME/blobs/sha256-<hex>-partial              a download in progress (resumable)
//   HOME/manifests/<host>/<namespace>/<model>/<tag>   one JSON manifest per name
//   HOME/locks/                                  flock files so concurrent commands never corrupt the store
// HOME is --home, else $HEARTH_HOME, else $XDG_DATA_HOME/hearth, else ~/.local/share/hearth.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "library/name.h"

namespace hearth::library {

namespace media {
inline constexpr const char* kModel = "application/vnd.ollama.image.model";
inline constexpr const char* kTemplate = "application/vnd.ollama.image.template";  // Go template (Ollama)
inline constexpr const char* kJinjaTemplate = "application/vnd.hearth.template.jinja";  // hearth create
inline constexpr const char* kSystem = "application/vnd.ollama.image.system";
inline constexpr const char* kParams = "application/vnd.ollama.image.params";
inline constexpr const char* kLicense = "application/vnd.ollama.image.license";
inline constexpr const char* kManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kConfig = "application/vnd.docker.container.image.v1+json";
}  // namespace media

struct Layer {
    std::string media_type;
    std::string digest;  // "sha256:<hex>"; empty for a layer that refers to a file outside the store
    uint64_t size = 0;
    std::string path;    // absolute path of that outside file (hearth import without --copy)
};

struct Manifest {
    std::optional<Layer> config;
    std::vector<Layer> layers;
    std::string source;  // where it came from (URL or file), for `hearth show`

    const Layer* find(const char* media_type) const;
    nlohmann::ordered_json to_json() const;
    // Throws hearth::Error naming `label` when the JSON is not a manifest.
    static Manifest from_json(const nlohmann::json& j, const std::string& label);
    uint64_t total_size() const;
};

// An exclusive advisory lock (flock) on a file, held until destruction.
class FileLock {
public:
    explicit FileLock(const std::filesystem::path& path);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    // True when the lock was already held by someone else and this waited for it.
    bool waited() const { return waited_; }

private:
    int fd_ = -1;
    bool waited_ = false;
};

// True for "sha256:" followed by 64 lowercase hex digits.
bool is_valid_digest(std::string_view digest);

class Store {
public:
    explicit Store(std::filesystem::path home);
    // --home when not empty, else the environment's choice (see above).
    static std::filesystem::path default_home(const std::string& flag = "");

    const std::filesystem::path& home() const { return home_; }
    std::filesystem::path blob_path(const std::string& digest) const;
    std::filesystem::path partial_path(const std::string& digest) const;
    bool has_blob(const std::string& digest) const;
    std::filesystem::path manifest_path(const ModelName& name) const;

    std::optional<Manifest> read_manifest(const ModelName& name) const;
    // Writes atomically (temporary file + rename) under the store lock, after checking that
    // every blob it refers to is present.
    void write_manifest(const ModelName& name, const Manifest& manifest);
    // Every manifest in the store, sorted by name. Unreadable manifests are skipped.
    struct Entry {
        ModelName name;
        Manifest manifest;
        std::filesystem::file_time_type modified;
    };
    std::vector<Entry> list() const;
    // Removes the manifest, then every blob no remaining manifest refers to. Returns the freed
    // blob paths. Throws when the name is not in the store.
    std::vector<std::filesystem::path> remove(const ModelName& name);

    // Stores bytes as a blob (small layers); returns the layer.
    Layer add_blob(const std::string& media_type, const std::string& bytes);
    // Copies a file into the blobs, hashing as it goes.
    Layer add_blob_from_file(const std::string& media_type, const std::string& path);
    // The GGUF a manifest stands for: its model layer's blob, or the file it refers to.
    std::string model_file(const Manifest& manifest, const ModelName& name) const;
    // Reads a small text layer (system, template, params, license).
    std::string read_layer_text(const Layer& layer) const;

    // Serialises changes to manifests and blob collection.
    FileLock lock_store() const;
    std::filesystem::path lock_path(const std::string& what) const;

    // Creates blobs/, manifests/ and locks/ when missing.
    void ensure_dirs() const;

private:
    std::filesystem::path home_;
};

}  // namespace hearth::library
