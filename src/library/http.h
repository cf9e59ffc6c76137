#pragma once
// The little HTTP the library needs, over libcurl: small GETs (manifests, file lists, /api/ps)
// and resumable downloads of large files. Errors are hearth::Error with a one-line reason;
// "the network is not there" is told apart from "the server said no".
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace hearth::library {

struct HttpResponse {
    long status = 0;
    std::string body;
};

// Thrown when the host cannot be reached at all (no route, DNS failure, refused, timeout), so
// callers can add advice that fits them (use a local file; start the server).
// A hearth::Error, so code that only reports errors needs no separate catch.
class NetworkError : public Error {
public:
    using Error::Error;
};

// GET url with extra request headers ("Name: value"). Any HTTP status is returned; only a
// transport failure throws (NetworkError when unreachable, hearth::Error otherwise).
HttpResponse http_get(const std::string& url, const std::vector<std::string>& headers = {},
                      long timeout_seconds = 60);

// Called while downloading: bytes in the file so far and the expected total.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;
// Called with a one-line note (e.g. "connection dropped at 40%, resuming").
using NoteFn = std::function<void(const std::string&)>;

// Downloads url into `partial`, continuing from the bytes already there with an HTTP Range
// request, until it holds expected_size bytes. Retries dropped connections a few times.
// Throws NetworkError / hearth::Error (HTTP status, disk full) — the partial file stays for
// the next attempt unless the server sent something unusable.
void download_resumable(const std::string& url, const std::vector<std::string>& headers,
                        const std::filesystem::path& partial, uint64_t expected_size, const ProgressFn& progress,
                        const NoteFn& note);

// "https://host:port/path" -> "host:port".
std::string url_host(const std::string& url);
// "12.3 MB", "512 B": decimal units like download sizes are usually quoted in.
std::string human_size(uint64_t bytes);

}  // namespace hearth::library
