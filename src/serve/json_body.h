#pragma once
// What every request-body parser of the server shares: the 400 it throws, the wording of JSON
// kinds in its messages, and "absent or null" as one case.
#include <string>

#include <nlohmann/json.hpp>

#include "serve/request.h"

namespace hearth::serve::body {

[[noreturn]] inline void bad(const std::string& message, const std::string& code = "invalid_value") {
    throw ApiError(400, message, "invalid_request_error", code);
}

inline const char* kind_of(const nlohmann::ordered_json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "an array";
    return "an object";
}

// The field, or null when absent or JSON null (both mean "use the default").
inline const nlohmann::ordered_json* field(const nlohmann::ordered_json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

}  // namespace hearth::serve::body
