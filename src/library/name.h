#pragma once
// Model names, as Ollama spells them:
//   NAME[:TAG]                  -> registry.ollama.ai/library/NAME:TAG (TAG defaults to "latest")
//   NAMESPACE/NAME[:TAG]        -> registry.ollama.ai/NAMESPACE/NAME:TAG
//   HOST/NAMESPACE/NAME[:TAG]   -> that registry
//   hf.co/OWNER/REPO[:QUANT]    -> a Hugging Face repository of GGUF files; the tag picks the
//                                  file by its quantization (default Q4_K_M)
// Anything that names a local file (see is_file_path) is not a name at all.
#include <string>
#include <string_view>

namespace hearth::library {

inline constexpr const char* kDefaultRegistryHost = "registry.ollama.ai";
inline constexpr const char* kHuggingFaceHost = "hf.co";
inline constexpr const char* kDefaultQuant = "Q4_K_M";

struct ModelName {
    std::string host;       // lowercase; "hf.co" for Hugging Face
    std::string space;      // namespace ("library") or the Hugging Face owner
    std::string model;      // model or repository name
    std::string tag;        // "latest" when not given

    bool is_hugging_face() const { return host == kHuggingFaceHost; }
    // For a Hugging Face name: the quantization the tag asks for ("latest" means Q4_K_M).
    std::string quant() const;
    // host/space/model:tag, the canonical spelling.
    std::string full() const;
    // The short spelling people type: "llama3.2:1b" for the default registry's library.
    std::string display() const;
    // host/space/model/tag, where the manifest lives under the store's manifests/ folder.
    std::string manifest_relpath() const;
};

// Throws hearth::Error with a one-line reason for anything that is not a valid name.
ModelName parse_model_name(std::string_view text);

// True when `text` means a file rather than a library name: it exists (as anything), starts
// with '/', './', '../' or '~', or ends in ".gguf".
bool is_file_path(std::string_view text);

}  // namespace hearth::library
