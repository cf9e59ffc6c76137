#pragma once
// `hearth pull`: fetch a model into the store from a Hugging Face repository of GGUF files or
// from a registry speaking Ollama's protocol. Every blob is downloaded to a "-partial" file
// (resumable), checked against its sha256, and renamed into place; the manifest is written
// last, so an interrupted or corrupted download never becomes a model.
#include <functional>
#include <string>
#include <vector>

#include "library/http.h"
#include "library/store.h"

namespace hearth::library {

struct PullEvents {
    NoteFn note;                 // one-line notes (what is downloaded, resumes, waits)
    // Progress of one blob: `label` names it; done == total marks the end of that blob.
    std::function<void(const std::string& label, uint64_t done, uint64_t total)> progress;
};

struct PullResult {
    Manifest manifest;
    std::string model_file;       // the GGUF in the store
    uint64_t downloaded_bytes = 0;  // 0 when everything was already there
};

PullResult pull(Store& store, const ModelName& name, const PullEvents& events = {});

// Base URLs: HEARTH_REGISTRY / HF_ENDPOINT when set, else the public hosts.
std::string registry_base(const ModelName& name);
std::string hugging_face_base();

// Picks the one .gguf among `files` whose name contains `quant` (case-insensitive; an exact
// -QUANT. / .QUANT. match wins over a longer quant that merely contains it). Throws listing
// the quantizations available when none or several match. `repo` names the repository.
std::string choose_gguf(const std::vector<std::string>& files, const std::string& quant, const std::string& repo);

// The advice every "no network" error ends with.
std::string offline_advice();

}  // namespace hearth::library
