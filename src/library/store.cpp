#include "library/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "common/error.h"
#include "library/sha256.h"

namespace hearth::library {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

ordered_json layer_json(const Layer& l) {
    ordered_json j;
    j["mediaType"] = l.media_type;
    if (!l.digest.empty()) j["digest"] = l.digest;
    j["size"] = l.size;
    if (!l.path.empty()) j["path"] = l.path;
    return j;
}

Layer layer_from_json(const json& j, const std::string& label) {
    if (!j.is_object()) fail("{}: a layer is not a JSON object", label);
    Layer l;
    l.media_type = j.value("mediaType", "");
    l.digest = j.value("digest", "");
    l.path = j.value("path", "");
    if (j.contains("size")) {
        if (!j["size"].is_number_unsigned()) fail("{}: a layer's size is not a non-negative integer", label);
        l.size = j["size"].get<uint64_t>();
    }
    if (l.digest.empty() == l.path.empty()) fail("{}: a layer needs exactly one of digest or path", label);
    if (!l.digest.empty() && !is_valid_digest(l.digest)) fail("{}: invalid layer digest '{}'", label, l.digest);
    return l;
}

// Writes through a temporary file in the same folder and renames it into place.
void write_atomically(const fs::path& path, const std::string& bytes) {
    fs::create_directories(path.parent_path());
    fs::path tmp = path;
    tmp += ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out) {
            int err = errno;
            std::error_code ec;
            fs::remove(tmp, ec);
            fail("{}: cannot write: {}", path.string(), err == ENOSPC ? "the disk is full" : std::strerror(err));
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        std::error_code ec;
        fs::remove(tmp, ec);
        fail("{}: cannot rename into place: {}", path.string(), std::strerror(err));
    }
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot read: {}", path.string(), std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

const Layer* Manifest::find(const char* media_type) const {
    for (const auto& l : layers)
        if (l.media_type == media_type) return &l;
    return nullptr;
}

uint64_t Manifest::total_size() const {
    uint64_t n = config ? config->size : 0;
    for (const auto& l : layers) n += l.size;
    return n;
}

ordered_json Manifest::to_json() const {
    ordered_json j;
    j["schemaVersion"] = 2;
    j["mediaType"] = media::kManifest;
    if (config) j["config"] = layer_json(*config);
    j["layers"] = ordered_json::array();
    for (const auto& l : layers) j["layers"].push_back(layer_json(l));
    if (!source.empty()) j["source"] = source;
    return j;
}

Manifest Manifest::from_json(const json& j, const std::string& label) {
    if (!j.is_object()) fail("{}: a manifest must be a JSON object", label);
    if (!j.contains("layers") || !j["layers"].is_array()) fail("{}: the manifest has no \"layers\" array", label);
    Manifest m;
    if (j.contains("config") && !j["config"].is_null()) m.config = layer_from_json(j["config"], label);
    for (const auto& l : j["layers"]) m.layers.push_back(layer_from_json(l, label));
    if (j.contains("source") && j["source"].is_string()) m.source = j["source"].get<std::string>();
    return m;
}

bool is_valid_digest(std::string_view d) {
    if (d.size() != 7 + 64 || d.substr(0, 7) != "sha256:") return false;
    return std::all_of(d.begin() + 7, d.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

FileLock::FileLock(const fs::path& path) {
    fs::create_directories(path.parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("{}: cannot open the lock file: {}", path.string(), std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    waited_ = true;
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd_);
        fail("{}: cannot lock: {}", path.string(), std::strerror(err));
    }
}

FileLock::~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Store::Store(fs::path home) : home_(std::move(home)) {}

fs::path Store::default_home(const std::string& flag) {
    if (!flag.empty()) return fs::absolute(flag);
    if (const char* h = std::getenv("HEARTH_HOME"); h && *h) return fs::absolute(h);
    if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return fs::path(x) / "hearth";
    if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".local/share/hearth";
    fail("cannot find the model library: set HEARTH_HOME (or HOME) or pass --home DIR");
}

void Store::ensure_dirs() const {
    std::error_code ec;
    for (const char* sub : {"blobs", "manifests", "locks"}) {
        fs::create_directories(home_ / sub, ec);
        if (ec) fail("{}: cannot create the model library folder: {}", (home_ / sub).string(), ec.message());
    }
}

fs::path Store::blob_path(const std::string& digest) const {
    if (!is_valid_digest(digest)) fail("invalid blob digest '{}'", digest);
    return home_ / "blobs" / ("sha256-" + digest.substr(7));
}

fs::path Store::partial_path(const std::string& digest) const {
    fs::path p = blob_path(digest);
    p += "-partial";
    return p;
}

bool Store::has_blob(const std::string& digest) const {
    std::error_code ec;
    return fs::is_regular_file(blob_path(digest), ec);
}

fs::path Store::manifest_path(const ModelName& name) const { return home_ / "manifests" / name.manifest_relpath(); }

fs::path Store::lock_path(const std::string& what) const { return home_ / "locks" / what; }

FileLock Store::lock_store() const {
    ensure_dirs();
    return FileLock(lock_path("store.lock"));
}

std::optional<Manifest> Store::read_manifest(const ModelName& name) const {
    const fs::path p = manifest_path(name);
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return std::nullopt;
    json j = json::parse(read_text(p), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) fail("{}: the manifest is not valid JSON", p.string());
    return Manifest::from_json(j, p.string());
}

void Store::write_manifest(const ModelName& name, const Manifest& manifest) {
    FileLock lock = lock_store();
    auto check = [&](const Layer& l) {
        if (!l.digest.empty() && !has_blob(l.digest))
            fail("blob {} of {} is missing from the store (removed by a concurrent `hearth rm`?); pull again",
                 l.digest, name.display());
    };
    if (manifest.config) check(*manifest.config);
    for (const auto& l : manifest.layers) check(l);
    write_atomically(manifest_path(name), manifest.to_json().dump(2) + "\n");
}

std::vector<Store::Entry> Store::list() const {
    std::vector<Entry> out;
    const fs::path root = home_ / "manifests";
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        const fs::path rel = fs::relative(it->path(), root);
        std::vector<std::string> parts;
        for (const auto& p : rel) parts.push_back(p.string());
        if (parts.size() != 4 || parts[3].find(".tmp.") != std::string::npos) continue;
        try {
            ModelName n = parse_model_name(parts[0] + "/" + parts[1] + "/" + parts[2] + ":" + parts[3]);
            auto m = read_manifest(n);
            if (m) out.push_back({n, *m, fs::last_write_time(it->path())});
        } catch (const Error&) {
            // A stray or damaged file under manifests/ is not a model; list the rest.
        }
    }
    std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name.full() < b.name.full(); });
    return out;
}

std::vector<fs::path> Store::remove(const ModelName& name) {
    FileLock lock = lock_store();
    auto manifest = read_manifest(name);
    if (!manifest) fail("model '{}' is not in the library {} (see hearth list)", name.display(), home_.string());
    fs::remove(manifest_path(name));
    // Prune folders left empty, up to manifests/.
    std::error_code ec;
    for (fs::path dir = manifest_path(name).parent_path(); dir != home_ / "manifests" && fs::is_empty(dir, ec);
         dir = dir.parent_path())
        fs::remove(dir, ec);

    std::set<std::string> still_used;
    for (const auto& e : list()) {
        if (e.manifest.config) still_used.insert(e.manifest.config->digest);
        for (const auto& l : e.manifest.layers) still_used.insert(l.digest);
    }
    std::vector<fs::path> freed;
    std::vector<Layer> mine = manifest->layers;
    if (manifest->config) mine.push_back(*manifest->config);
    for (const auto& l : mine) {
        if (l.digest.empty() || still_used.count(l.digest)) continue;
        fs::path p = blob_path(l.digest);
        if (fs::remove(p, ec)) freed.push_back(p);
    }
    return freed;
}

Layer Store::add_blob(const std::string& media_type, const std::string& bytes) {
    ensure_dirs();
    Layer l{media_type, "sha256:" + sha256_hex(bytes), bytes.size(), ""};
    if (!has_blob(l.digest)) write_atomically(blob_path(l.digest), bytes);
    return l;
}

Layer Store::add_blob_from_file(const std::string& media_type, const std::string& path) {
    ensure_dirs();
    std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!in) fail("{}: cannot read: {}", path, std::strerror(errno));
    fs::path tmp = home_ / "blobs" / ("import-" + std::to_string(::getpid()) + "-partial");
    std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(tmp.c_str(), "wb"), &std::fclose);
    if (!out) fail("{}: cannot create: {}", tmp.string(), std::strerror(errno));
    Sha256 hash;
    std::vector<char> buf(1 << 20);
    uint64_t total = 0;
    size_t got;
    while ((got = std::fread(buf.data(), 1, buf.size(), in.get())) > 0) {
        hash.update(buf.data(), got);
        total += got;
        if (std::fwrite(buf.data(), 1, got, out.get()) != got) {
            int err = errno;
            out.reset();
            fs::remove(tmp);
            fail("{}: cannot copy into the library: {}", path, err == ENOSPC ? "the disk is full" : std::strerror(err));
        }
    }
    bool read_error = std::ferror(in.get());
    bool ok = std::fflush(out.get()) == 0;
    int err = errno;
    out.reset();
    if (read_error || !ok) {
        fs::remove(tmp);
        fail("{}: cannot copy into the library: {}", path, err == ENOSPC ? "the disk is full" : std::strerror(err));
    }
    Layer l{media_type, "sha256:" + hash.hex(), total, ""};
    fs::rename(tmp, blob_path(l.digest));
    return l;
}

std::string Store::model_file(const Manifest& manifest, const ModelName& name) const {
    const Layer* l = manifest.find(media::kModel);
    if (!l) fail("model '{}' has no model layer in its manifest {}", name.display(), manifest_path(name).string());
    if (!l->path.empty()) {
        std::error_code ec;
        if (!fs::exists(l->path, ec))
            fail("model '{}' refers to {}, which no longer exists (import it again or hearth rm {})", name.display(),
                 l->path, name.display());
        return l->path;
    }
    fs::path p = blob_path(l->digest);
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
        fail("model '{}': its blob {} is missing; pull it again", name.display(), p.string());
    return p.string();
}

std::string Store::read_layer_text(const Layer& l) const {
    if (!l.path.empty()) return read_text(l.path);
    return read_text(blob_path(l.digest));
}

}  // namespace hearth::library
