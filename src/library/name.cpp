#include "library/name.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "common/error.h"

namespace hearth::library {
namespace {

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// One component: starts with a letter or digit (or '_' where allowed), then letters, digits
// and the listed punctuation. That also keeps "." and ".." out of manifest paths.
void check_part(std::string_view text, std::string_view part, const char* what, std::string_view extra,
                bool underscore_first, size_t max_len) {
    if (part.empty()) fail("invalid model name '{}': the {} is empty", text, what);
    if (part.size() > max_len) fail("invalid model name '{}': the {} is longer than {} characters", text, what, max_len);
    if (!is_alnum(part[0]) && !(underscore_first && part[0] == '_'))
        fail("invalid model name '{}': the {} must start with a letter or digit", text, what);
    for (char c : part)
        if (!is_alnum(c) && extra.find(c) == std::string_view::npos)
            fail("invalid model name '{}': the {} '{}' may only contain letters, digits and '{}'", text, what, part,
                 extra);
}

}  // namespace

std::string ModelName::quant() const { return tag == "latest" ? std::string(kDefaultQuant) : tag; }

std::string ModelName::full() const { return host + "/" + space + "/" + model + ":" + tag; }

std::string ModelName::display() const {
    if (host == kDefaultRegistryHost) {
        if (space == "library") return model + ":" + tag;
        return space + "/" + model + ":" + tag;
    }
    return full();
}

std::string ModelName::manifest_relpath() const { return host + "/" + space + "/" + model + "/" + tag; }

ModelName parse_model_name(std::string_view text) {
    if (text.empty()) fail("invalid model name '': the name is empty");
    if (text.find('@') != std::string_view::npos)
        fail("invalid model name '{}': pinning a digest with '@' is not supported; use NAME:TAG", text);
    for (char c : text)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            fail("invalid model name '{}': it contains a space or control character", text);

    // The tag follows the last ':' after the last '/', so "localhost:5000/ns/model" keeps its port.
    const size_t slash = text.rfind('/');
    const size_t colon = text.rfind(':');
    std::string_view path = text, tag = "latest";
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        path = text.substr(0, colon);
        tag = text.substr(colon + 1);
        if (tag.empty()) fail("invalid model name '{}': the tag after ':' is empty", text);
    }
    std::vector<std::string_view> parts;
    for (size_t start = 0;;) {
        size_t end = path.find('/', start);
        parts.push_back(path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    if (parts.size() > 3)
        fail("invalid model name '{}': expected NAME[:TAG], NAMESPACE/NAME[:TAG] or HOST/NAMESPACE/NAME[:TAG]", text);

    ModelName n;
    n.host = kDefaultRegistryHost;
    n.space = "library";
    if (parts.size() == 3) n.host = lower(std::string(parts[0]));
    if (parts.size() >= 2) n.space = std::string(parts[parts.size() - 2]);
    n.model = std::string(parts.back());
    n.tag = std::string(tag);
    if (n.host == "huggingface.co" || n.host == "www.huggingface.co") n.host = kHuggingFaceHost;
    const std::string first = lower(std::string(parts[0]));
    if (parts.size() < 3 && (first == "hf.co" || first == "huggingface.co"))
        fail("invalid model name '{}': a Hugging Face name is hf.co/OWNER/REPO[:QUANT]", text);

    if (parts.size() == 3) check_part(text, parts[0], "host", ".-:", false, 350);
    check_part(text, n.space, n.is_hugging_face() ? "owner" : "namespace", "._-", false, 80);
    check_part(text, n.model, n.is_hugging_face() ? "repository" : "model name", "._-", false, 80);
    check_part(text, n.tag, "tag", "._-", true, 80);
    return n;
}

bool is_file_path(std::string_view text) {
    if (text.empty()) return false;
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(text), ec)) return true;
    if (text[0] == '/' || text[0] == '~' || text.substr(0, 2) == "./" || text.substr(0, 3) == "../") return true;
    if (text.size() >= 5) {
        std::string tail = lower(std::string(text.substr(text.size() - 5)));
        if (tail == ".gguf") return true;
    }
    return false;
}

}  // namespace hearth::library
