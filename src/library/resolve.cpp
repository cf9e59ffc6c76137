#include "library/resolve.h"

#include "common/error.h"

namespace hearth::library {

ResolvedModel resolve_model(const std::string& name_or_path, const ResolveOptions& options) {
    ResolvedModel r;
    if (is_file_path(name_or_path)) {
        r.path = name_or_path;
        r.name = name_or_path;
        return r;
    }
    ModelName name;
    try {
        name = parse_model_name(name_or_path);
    } catch (const Error& e) {
        fail("{} (and there is no such file either)", e.what());
    }
    Store store(Store::default_home(options.home));
    auto manifest = store.read_manifest(name);
    if (!manifest) {
        if (!options.pull_if_missing)
            fail("model '{}' is not in the library {} and there is no such file; pull it with hearth pull {}, or "
                 "give a GGUF file path",
                 name.display(), store.home().string(), name.display());
        manifest = pull(store, name, options.events).manifest;
    }
    r.path = store.model_file(*manifest, name);
    r.name = name.display();
    r.from_library = true;
    if (const Layer* l = manifest->find(media::kSystem)) r.system = store.read_layer_text(*l);
    if (const Layer* l = manifest->find(media::kJinjaTemplate)) r.tmpl = store.read_layer_text(*l);
    if (const Layer* l = manifest->find(media::kParams)) {
        auto j = nlohmann::ordered_json::parse(store.read_layer_text(*l), nullptr, false);
        if (j.is_object()) r.params = j;
    }
    return r;
}

}  // namespace hearth::library
