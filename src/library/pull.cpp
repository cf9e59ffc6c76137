#include "library/pull.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "library/sha256.h"

namespace hearth::library {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    std::string s = v && *v ? v : fallback;
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

std::string base_name(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The quantization a file name carries: its last '-' or '.' separated part that looks like one.
std::string quant_of(const std::string& file) {
    std::string stem = base_name(file);
    if (stem.size() > 5) stem.resize(stem.size() - 5);  // ".gguf"
    std::string best;
    size_t start = 0;
    for (size_t i = 0; i <= stem.size(); ++i) {
        if (i == stem.size() || stem[i] == '-' || stem[i] == '.') {
            std::string part = stem.substr(start, i - start), up = part;
            for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            bool looks = (up.size() >= 2 && up[0] == 'Q' && std::isdigit(static_cast<unsigned char>(up[1]))) ||
                         (up.size() >= 3 && up.substr(0, 2) == "IQ" && std::isdigit(static_cast<unsigned char>(up[2]))) ||
                         up == "F16" || up == "F32" || up == "BF16";
            if (looks) best = up;
            start = i + 1;
        }
    }
    return best.empty() ? base_name(file) : best;
}

std::vector<std::string> auth_headers(bool hugging_face) {
    std::vector<std::string> h;
    if (hugging_face)
        if (const char* t = std::getenv("HF_TOKEN"); t && *t) h.push_back(std::string("Authorization: Bearer ") + t);
    return h;
}

[[noreturn]] void fail_unreachable(const NetworkError& e, const ModelName& name) {
    fail("{} — could not pull {}. {}", e.what(), name.display(), offline_advice());
}

// Downloads one blob unless the store has it; returns the bytes downloaded.
uint64_t ensure_blob(Store& store, const std::string& url, const std::vector<std::string>& headers, const Layer& layer,
                     const std::string& label, const PullEvents& ev) {
    if (store.has_blob(layer.digest)) return 0;
    // One puller per blob; a second one waits here and then finds the blob in place.
    FileLock lock(store.lock_path("blob-" + layer.digest.substr(7) + ".lock"));
    if (lock.waited() && ev.note) ev.note(fmt::format("waited for another pull of {}", label));
    if (store.has_blob(layer.digest)) return 0;

    const fs::path partial = store.partial_path(layer.digest);
    std::error_code ec;
    const uint64_t before = fs::exists(partial, ec) ? fs::file_size(partial, ec) : 0;
    if (before > 0 && before < layer.size && ev.note)
        ev.note(fmt::format("resuming {} at {} of {}", label, human_size(before), human_size(layer.size)));
    ProgressFn progress;
    if (ev.progress) progress = [&](uint64_t done, uint64_t total) { ev.progress(label, done, total); };
    download_resumable(url, headers, partial, layer.size, progress, ev.note);
    if (ev.progress) ev.progress(label, layer.size, layer.size);

    const std::string got = "sha256:" + sha256_file(partial.string());
    if (got != layer.digest) {
        fs::remove(partial, ec);
        fail("checksum mismatch for {}: expected {}, got {}; the download was discarded and nothing was stored", label,
             layer.digest, got);
    }
    fs::rename(partial, store.blob_path(layer.digest));
    return layer.size - std::min(before, layer.size);
}

PullResult pull_hugging_face(Store& store, const ModelName& name, const PullEvents& ev) {
    const std::string base = hugging_face_base();
    const std::string repo = name.space + "/" + name.model;
    // recursive: some repositories keep each quantization in its own folder.
    const std::string tree_url = base + "/api/models/" + repo + "/tree/main?recursive=true";
    const auto headers = auth_headers(true);
    HttpResponse r;
    try {
        r = http_get(tree_url, headers);
    } catch (const NetworkError& e) {
        fail_unreachable(e, name);
    }
    if (r.status == 404) fail("hf.co/{} was not found on {} (HTTP 404); check the owner and repository name", repo, url_host(base));
    if (r.status == 401 || r.status == 403)
        fail("hf.co/{} needs authorisation (HTTP {}); set HF_TOKEN to a Hugging Face access token that may read it",
             repo, r.status);
    if (r.status != 200) fail("listing the files of hf.co/{} failed: HTTP {} from {}", repo, r.status, tree_url);
    json tree = json::parse(r.body, nullptr, false);
    if (!tree.is_array()) fail("listing the files of hf.co/{}: the answer from {} is not a JSON array", repo, tree_url);

    std::vector<std::string> files;
    for (const auto& e : tree)
        if (e.is_object() && e.value("type", "") == "file" && e.contains("path") && e["path"].is_string())
            files.push_back(e["path"].get<std::string>());
    const std::string file = choose_gguf(files, name.quant(), "hf.co/" + repo);
    Layer layer{media::kModel, "", 0, ""};
    for (const auto& e : tree) {
        if (!e.is_object() || e.value("path", "") != file) continue;
        if (e.contains("lfs") && e["lfs"].is_object()) {
            layer.digest = "sha256:" + lower(e["lfs"].value("oid", ""));
            if (e["lfs"].contains("size") && e["lfs"]["size"].is_number_unsigned()) layer.size = e["lfs"]["size"];
        }
        if (layer.size == 0 && e.contains("size") && e["size"].is_number_unsigned()) layer.size = e["size"];
    }
    if (!is_valid_digest(layer.digest))
        fail("hf.co/{}: the hub lists no sha256 for {}, so the download could not be verified", repo, file);

    const std::string url = base + "/" + repo + "/resolve/main/" + file;
    PullResult out;
    if (!store.has_blob(layer.digest) && ev.note)
        ev.note(fmt::format("pulling {} ({}) from {}", file, human_size(layer.size), url_host(base)));
    try {
        out.downloaded_bytes = ensure_blob(store, url, headers, layer, file, ev);
    } catch (const NetworkError& e) {
        fail_unreachable(e, name);
    }
    out.manifest.layers.push_back(layer);
    out.manifest.source = url;
    return out;
}

PullResult pull_registry(Store& store, const ModelName& name, const PullEvents& ev) {
    const std::string base = registry_base(name) + "/v2/" + name.space + "/" + name.model;
    const std::string manifest_url = base + "/manifests/" + name.tag;
    HttpResponse r;
    try {
        r = http_get(manifest_url, {std::string("Accept: ") + media::kManifest});
    } catch (const NetworkError& e) {
        fail_unreachable(e, name);
    }
    if (r.status == 404)
        fail("model '{}' was not found on {} (HTTP 404); check the name and tag", name.display(), url_host(base));
    if (r.status != 200) fail("fetching the manifest of {} failed: HTTP {} from {}", name.display(), r.status, manifest_url);
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) fail("the manifest of {} from {} is not valid JSON", name.display(), manifest_url);
    PullResult out;
    out.manifest = Manifest::from_json(j, manifest_url);
    for (const auto& l : out.manifest.layers)
        if (l.digest.empty()) fail("the manifest of {} from {} has a layer without a digest", name.display(), manifest_url);
    const Layer* model = out.manifest.find(media::kModel);
    if (!model) fail("the manifest of {} has no model layer ({}); it is not a GGUF model", name.display(), media::kModel);
    if (!store.has_blob(model->digest) && ev.note)
        ev.note(fmt::format("pulling {} ({}) from {}", name.display(), human_size(out.manifest.total_size()),
                            url_host(base)));
    std::vector<Layer> all = out.manifest.layers;
    if (out.manifest.config) all.push_back(*out.manifest.config);
    try {
        for (const auto& l : all) {
            // "params", "license", … for the small layers.
            std::string label = l.media_type == media::kModel    ? name.display()
                                : l.media_type == media::kConfig ? std::string("config")
                                                                 : l.media_type.substr(l.media_type.rfind('.') + 1);
            out.downloaded_bytes += ensure_blob(store, base + "/blobs/" + l.digest, {}, l, label, ev);
        }
    } catch (const NetworkError& e) {
        fail_unreachable(e, name);
    }
    out.manifest.source = manifest_url;
    return out;
}

}  // namespace

std::string registry_base(const ModelName& name) {
    if (name.host == kDefaultRegistryHost) return env_or("HEARTH_REGISTRY", "https://registry.ollama.ai");
    return "https://" + name.host;
}

std::string hugging_face_base() { return env_or("HF_ENDPOINT", "https://huggingface.co"); }

std::string offline_advice() {
    return "Without a network, use a GGUF file you already have: hearth run -m /path/to/model.gguf, or add it to "
           "the library once with hearth import /path/to/model.gguf NAME and then use -m NAME";
}

std::string choose_gguf(const std::vector<std::string>& files, const std::string& quant, const std::string& repo) {
    std::vector<std::string> ggufs;
    for (const auto& f : files) {
        std::string l = lower(f);
        if (l.size() > 5 && l.substr(l.size() - 5) == ".gguf" && l.find("mmproj") == std::string::npos)
            ggufs.push_back(f);
    }
    if (ggufs.empty()) fail("{} has no .gguf files", repo);
    std::set<std::string> quants;
    for (const auto& f : ggufs) quants.insert(quant_of(f));
    std::string available;
    for (const auto& q : quants) available += (available.empty() ? "" : ", ") + q;

    const std::string q = lower(quant);
    std::vector<std::string> hits, exact;
    for (const auto& f : ggufs) {
        const std::string l = lower(base_name(f));
        size_t at = l.find(q);
        if (at == std::string::npos) continue;
        hits.push_back(f);
        for (; at != std::string::npos; at = l.find(q, at + 1)) {
            const bool left = at == 0 || !is_alnum(l[at - 1]);
            const size_t end = at + q.size();
            const bool right = end >= l.size() || (!is_alnum(l[end]) && l[end] != '_');
            if (left && right) {
                exact.push_back(f);
                break;
            }
        }
    }
    if (exact.size() == 1) return exact[0];
    if (hits.size() == 1) return hits[0];
    if (hits.empty())
        fail("{} has no GGUF file for quantization {} (available: {}); pick one with hf.co/OWNER/REPO:QUANT", repo,
             quant, available);
    const auto& many = exact.size() > 1 ? exact : hits;
    std::string names;
    for (const auto& f : many) names += (names.empty() ? "" : ", ") + f;
    if (names.find("-of-") != std::string::npos)
        fail("{}: quantization {} is split into several files ({}); split GGUF files are not supported", repo, quant,
             names);
    fail("{}: quantization {} matches several files ({}); give a more specific tag (available: {})", repo, quant, names,
         available);
}

PullResult pull(Store& store, const ModelName& name, const PullEvents& events) {
    store.ensure_dirs();
    PullResult r = name.is_hugging_face() ? pull_hugging_face(store, name, events) : pull_registry(store, name, events);
    store.write_manifest(name, r.manifest);
    r.model_file = store.model_file(r.manifest, name);
    return r;
}

}  // namespace hearth::library
