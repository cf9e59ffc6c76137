#include "fit/model_catalogue.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "common/error.h"
#include "convert/synth.h"

namespace hearth::fit {
namespace {

// name, aliases, arch, n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_vocab, n_ctx, tied
// (from config.json: num_hidden_layers, hidden_size, intermediate_size, num_attention_heads,
// num_key_value_heads, head_dim, vocab_size, max_position_embeddings, tie_word_embeddings).
constexpr CatalogueModel kModels[] = {
    {"llama3.2:1b", "llama3.2:1b-instruct", "llama", 16, 2048, 8192, 32, 8, 64, 128256, 131072, true},
    {"llama3.2:3b", "llama3.2", "llama", 28, 3072, 8192, 24, 8, 128, 128256, 131072, true},
    {"llama3.1:8b", "llama3:8b llama3.1 deepseek-r1:8b", "llama", 32, 4096, 14336, 32, 8, 128, 128256, 131072, false},
    {"llama3.1:70b", "llama3:70b llama3.3:70b llama3.3 deepseek-r1:70b", "llama", 80, 8192, 28672, 64, 8, 128, 128256, 131072, false},
    {"llama3.1:405b", "", "llama", 126, 16384, 53248, 128, 8, 128, 128256, 131072, false},
    {"qwen2.5:0.5b", "", "qwen2", 24, 896, 4864, 14, 2, 64, 151936, 32768, true},
    {"qwen2.5:1.5b", "", "qwen2", 28, 1536, 8960, 12, 2, 128, 151936, 32768, true},
    {"qwen2.5:3b", "", "qwen2", 36, 2048, 11008, 16, 2, 128, 151936, 32768, true},
    {"qwen2.5:7b", "qwen2.5", "qwen2", 28, 3584, 18944, 28, 4, 128, 152064, 32768, false},
    {"qwen2.5:14b", "", "qwen2", 48, 5120, 13824, 40, 8, 128, 152064, 32768, false},
    {"qwen2.5:32b", "", "qwen2", 64, 5120, 27648, 40, 8, 128, 152064, 32768, false},
    {"qwen2.5:72b", "", "qwen2", 80, 8192, 29568, 64, 8, 128, 152064, 32768, false},
    {"qwen3:0.6b", "", "qwen3", 28, 1024, 3072, 16, 8, 128, 151936, 40960, true},
    {"qwen3:1.7b", "", "qwen3", 28, 2048, 6144, 16, 8, 128, 151936, 40960, true},
    {"qwen3:4b", "", "qwen3", 36, 2560, 9728, 32, 8, 128, 151936, 40960, true},
    {"qwen3:8b", "qwen3", "qwen3", 36, 4096, 12288, 32, 8, 128, 151936, 40960, false},
    {"qwen3:14b", "", "qwen3", 40, 5120, 17408, 40, 8, 128, 151936, 40960, false},
    {"qwen3:32b", "", "qwen3", 64, 5120, 25600, 64, 8, 128, 151936, 40960, false},
    {"qwen3:30b-a3b", "qwen3:30b", "qwen3moe", 48, 2048, 768, 32, 4, 128, 151936, 40960, false, 128, 8},
    {"qwen3:235b-a22b", "qwen3:235b", "qwen3moe", 94, 4096, 1536, 64, 4, 128, 151936, 40960, false, 128, 8},
    {"qwen3.5:0.8b", "", "qwen35", 24, 1024, 3584, 8, 2, 256, 248320, 262144, true, 0, 0, 0, 4, 128, 16, 16, 4},
    {"qwen3.5:9b", "qwen3.5", "qwen35", 32, 4096, 12288, 16, 4, 256, 248320, 262144, false, 0, 0, 0, 4, 128, 16, 32, 4},
    {"qwen3.5:35b-a3b", "qwen3.5:35b qwen3.6:35b-a3b qwen3.6:35b qwen3.6", "qwen35moe", 40, 2048, 512, 16, 2, 256,
     248320, 262144, false, 256, 8, 512, 4, 128, 16, 32, 4},
    {"gpt-oss:20b", "gpt-oss", "gpt-oss", 24, 2880, 2880, 64, 8, 64, 201088, 131072, false, 32, 4},
    {"gpt-oss:120b", "", "gpt-oss", 36, 2880, 2880, 64, 8, 64, 201088, 131072, false, 128, 4},
    {"mistral:7b", "mistral", "llama", 32, 4096, 14336, 32, 8, 128, 32768, 32768, false},
    {"mixtral:8x7b", "mixtral", "llama", 32, 4096, 14336, 32, 8, 128, 32000, 32768, false, 8, 2},
    {"gemma2:2b", "", "gemma2", 26, 2304, 9216, 8, 4, 256, 256000, 8192, true},
    {"gemma2:9b", "gemma2", "gemma2", 42, 3584, 14336, 16, 8, 256, 256000, 8192, true},
    {"gemma2:27b", "", "gemma2", 46, 4608, 36864, 32, 16, 128, 256000, 8192, true},
    {"gemma3:1b", "", "gemma3", 26, 1152, 6912, 4, 1, 256, 262144, 32768, true},
    {"gemma3:4b", "gemma3", "gemma3", 34, 2560, 10240, 8, 4, 256, 262208, 131072, true},
    {"gemma3:12b", "", "gemma3", 48, 3840, 15360, 16, 8, 256, 262208, 131072, true},
    {"gemma3:27b", "", "gemma3", 62, 5376, 21504, 32, 16, 128, 262208, 131072, true},
    {"phi3:mini", "phi3:3.8b phi3", "phi3", 32, 3072, 8192, 32, 32, 96, 32064, 4096, false},
    {"phi3:medium", "phi3:14b", "phi3", 40, 5120, 17920, 40, 10, 128, 32064, 4096, false},
    {"phi4:14b", "phi4", "phi3", 40, 5120, 17920, 40, 10, 128, 100352, 16384, false},
    {"phi4-mini:3.8b", "phi4-mini", "phi3", 32, 3072, 8192, 24, 8, 128, 200064, 131072, true},
    {"deepseek-r1:1.5b", "", "qwen2", 28, 1536, 8960, 12, 2, 128, 151936, 131072, false},
    {"deepseek-r1:7b", "", "qwen2", 28, 3584, 18944, 28, 4, 128, 152064, 131072, false},
    {"deepseek-r1:14b", "", "qwen2", 48, 5120, 13824, 40, 8, 128, 152064, 131072, false},
    {"deepseek-r1:32b", "", "qwen2", 64, 5120, 27648, 40, 8, 128, 152064, 131072, false},
    // Gemma 4, dense text models: the shapes are the `hearth synth` presets' (one source). The
    // 26B-A4B MoE is left out: hearth's gemma4 row has no experts, so it could not be laid out.
    {.name = "gemma4:e2b", .arch = "gemma4", .synth_preset = "gemma4-e2b",
     .provenance = "third-party copies of config.json, not checked against Google's; no published GGUF size verified"},
    {.name = "gemma4:e4b", .arch = "gemma4", .synth_preset = "gemma4-e4b",
     .provenance = "config.json as far as known, not checked against a real file; no published GGUF size verified"},
    {.name = "gemma4:31b", .arch = "gemma4", .synth_preset = "gemma4-31b",
     .provenance = "third-party copies of config.json, not checked against Google's; no published GGUF size verified"},
};

// The table with preset-backed rows' shape fields filled in from their presets.
std::vector<CatalogueModel> build_catalogue() {
    std::vector<CatalogueModel> out(std::begin(kModels), std::end(kModels));
    for (CatalogueModel& m : out) {
        if (m.synth_preset.empty()) continue;
        const convert::ModelPreset& p = convert::find_model_preset(m.synth_preset);
        m.n_layer = p.n_layer;
        m.n_embd = p.n_embd;
        m.n_ff = p.n_ff;
        m.n_head = p.n_head;
        m.n_head_kv = p.n_head_kv;
        m.head_dim = p.head_size();
        m.n_vocab = p.n_vocab;
        m.n_ctx = p.n_ctx;
        m.tied_embeddings = p.tied_embeddings;
    }
    return out;
}

const std::vector<CatalogueModel>& catalogue() {
    static const std::vector<CatalogueModel> models = build_catalogue();
    return models;
}

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::vector<std::string_view> names_of(const CatalogueModel& m) {
    std::vector<std::string_view> out{m.name};
    std::string_view rest = m.aliases;
    while (!rest.empty()) {
        size_t sp = rest.find(' ');
        std::string_view word = rest.substr(0, sp);
        if (!word.empty()) out.push_back(word);
        if (sp == std::string_view::npos) break;
        rest.remove_prefix(sp + 1);
    }
    return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace

std::span<const CatalogueModel> catalogue_models() { return catalogue(); }

std::string closest_model_names(std::string_view name, size_t n) {
    const std::string want = lower(name);
    std::vector<std::pair<size_t, std::string_view>> scored;
    for (const CatalogueModel& m : catalogue()) scored.emplace_back(edit_distance(want, m.name), m.name);
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    for (size_t i = 0; i < std::min(n, scored.size()); ++i) {
        if (!out.empty()) out += ", ";
        out += scored[i].second;
    }
    return out;
}

const CatalogueModel& find_catalogue_model(std::string_view name) {
    const std::string want = lower(name);
    for (const CatalogueModel& m : catalogue())
        for (std::string_view n : names_of(m))
            if (want == n) return m;
    fail("unknown model '{}' (closest: {}; `hearth fit --list-models` lists all, or describe it with --params)",
         name, closest_model_names(name));
}

}  // namespace hearth::fit
