#include <algorithm>

#include "chat/builtins.h"
#include "chat/error.h"

namespace hearth::chat {

Args::Args(std::string_view fn, const CallArgs& args, std::initializer_list<std::string_view> params,
           size_t required)
    : fn_(fn), names_(params), bound_(params.size()) {
    if (args.positional.size() > names_.size())
        runtime_error(fn_ + "() takes at most " + std::to_string(names_.size()) + " argument(s) (" +
                      std::to_string(args.positional.size()) + " given)");
    for (size_t i = 0; i < args.positional.size(); ++i) bound_[i] = args.positional[i];
    for (const auto& [key, value] : args.keyword) {
        const auto it = std::find(names_.begin(), names_.end(), key);
        if (it == names_.end()) runtime_error(fn_ + "() got an unexpected keyword argument '" + key + "'");
        auto& slot = bound_[static_cast<size_t>(it - names_.begin())];
        if (slot) runtime_error(fn_ + "() got multiple values for argument '" + key + "'");
        slot = value;
    }
    for (size_t i = 0; i < required && i < names_.size(); ++i)
        if (!bound_[i]) runtime_error(fn_ + "() missing required argument '" + std::string(names_[i]) + "'");
}

int64_t Args::get_int(size_t i, int64_t fallback) const {
    if (!has(i) || get(i).is_none()) return fallback;
    const Value& v = get(i);
    if (v.is_integral()) return v.integral();
    if (v.is_float()) return static_cast<int64_t>(v.as_float());
    runtime_error(fn_ + "(): '" + std::string(names_[i]) + "' must be an integer, not " + type_name(v));
}

std::optional<std::string> Args::get_opt_string(size_t i) const {
    if (!has(i) || get(i).is_none()) return std::nullopt;
    return to_str(get(i));
}

bool Args::get_bool(size_t i, bool fallback) const { return has(i) ? truthy(get(i)) : fallback; }

}  // namespace hearth::chat
