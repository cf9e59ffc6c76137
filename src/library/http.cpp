#include "library/http.h"

#include <curl/curl.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <chrono>
#include <mutex>
#include <thread>

#include "common/error.h"

namespace hearth::library {

namespace fs = std::filesystem;

namespace {

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Easy {
    CURL* h;
    curl_slist* headers = nullptr;
    Easy() : h(curl_easy_init()) {
        if (!h) fail("cannot start libcurl");
    }
    ~Easy() {
        curl_slist_free_all(headers);
        curl_easy_cleanup(h);
    }
    void set_headers(const std::vector<std::string>& list) {
        for (const auto& s : list) headers = curl_slist_append(headers, s.c_str());
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    }
};

void common_options(Easy& e, const std::string& url, char* error_buffer) {
    curl_easy_setopt(e.h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e.h, CURLOPT_FOLLOWLOCATION, 1L);  // the hub and registries redirect blobs to CDNs
    curl_easy_setopt(e.h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e.h, CURLOPT_USERAGENT, "hearth/0.1");
    curl_easy_setopt(e.h, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(e.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e.h, CURLOPT_ERRORBUFFER, error_buffer);
    error_buffer[0] = 0;
}

bool unreachable(CURLcode rc) {
    return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_COULDNT_CONNECT ||
           (rc == CURLE_OPERATION_TIMEDOUT);
}

// Worth another try from where the file stops.
bool transient(CURLcode rc) {
    return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM;
}

std::string describe(CURLcode rc, const char* error_buffer) {
    return error_buffer[0] ? std::string(error_buffer) : std::string(curl_easy_strerror(rc));
}

size_t append_body(char* data, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
}

uint64_t file_size_or_zero(const fs::path& p) {
    std::error_code ec;
    auto n = fs::file_size(p, ec);
    return ec ? 0 : n;
}

struct Sink {
    FILE* file = nullptr;
    int write_errno = 0;
};

size_t write_file(char* data, size_t size, size_t n, void* user) {
    auto* s = static_cast<Sink*>(user);
    size_t got = std::fwrite(data, 1, size * n, s->file);
    if (got != size * n) s->write_errno = errno ? errno : EIO;
    return got;
}

struct ProgressState {
    const ProgressFn* fn;
    uint64_t offset, total;
};

int on_progress(void* user, curl_off_t, curl_off_t now, curl_off_t, curl_off_t) {
    auto* p = static_cast<ProgressState*>(user);
    if (*p->fn) (*p->fn)(p->offset + static_cast<uint64_t>(now), p->total);
    return 0;
}

void check_free_space(const fs::path& partial, uint64_t needed) {
    struct statvfs st{};
    if (::statvfs(partial.parent_path().c_str(), &st) != 0) return;
    const uint64_t avail = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    if (avail < needed)
        fail("not enough disk space in {}: the download needs {} more, only {} is free", partial.parent_path().string(),
             human_size(needed), human_size(avail));
}

}  // namespace

std::string url_host(const std::string& url) {
    size_t start = url.find("://");
    start = start == std::string::npos ? 0 : start + 3;
    size_t end = url.find('/', start);
    return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string human_size(uint64_t b) {
    if (b >= 1000000000ull) return fmt::format("{:.2f} GB", b / 1e9);
    if (b >= 1000000ull) return fmt::format("{:.1f} MB", b / 1e6);
    if (b >= 1000ull) return fmt::format("{:.1f} KB", b / 1e3);
    return fmt::format("{} B", b);
}

HttpResponse http_get(const std::string& url, const std::vector<std::string>& headers, long timeout_seconds) {
    global_init();
    Easy e;
    char err[CURL_ERROR_SIZE];
    common_options(e, url, err);
    e.set_headers(headers);
    HttpResponse r;
    curl_easy_setopt(e.h, CURLOPT_TIMEOUT, timeout_seconds);
    curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &r.body);
    CURLcode rc = curl_easy_perform(e.h);
    if (unreachable(rc)) throw NetworkError(fmt::format("cannot reach {}: {}", url_host(url), describe(rc, err)));
    if (rc != CURLE_OK) fail("GET {} failed: {}", url, describe(rc, err));
    curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
}

void download_resumable(const std::string& url, const std::vector<std::string>& headers, const fs::path& partial,
                        uint64_t expected_size, const ProgressFn& progress, const NoteFn& note) {
    global_init();
    constexpr int kAttempts = 5;
    for (int attempt = 1;; ++attempt) {
        // The first retry is immediate (a dropped connection); later ones back off a little.
        if (attempt > 2) std::this_thread::sleep_for(std::chrono::seconds(attempt - 2));
        uint64_t offset = file_size_or_zero(partial);
        if (offset > expected_size) {  // not the file we expect: start over
            fs::remove(partial);
            offset = 0;
        }
        if (offset == expected_size && expected_size > 0) return;
        check_free_space(partial, expected_size - offset);

        std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(partial.c_str(), "ab"), &std::fclose);
        if (!file) fail("{}: cannot write the download: {}", partial.string(), std::strerror(errno));
        Easy e;
        char err[CURL_ERROR_SIZE];
        common_options(e, url, err);
        e.set_headers(headers);
        if (offset > 0) curl_easy_setopt(e.h, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));
        Sink sink{file.get(), 0};
        curl_easy_setopt(e.h, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, write_file);
        curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &sink);
        // A stalled connection (under 1 KB/s for 30 s) is dropped and resumed.
        curl_easy_setopt(e.h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(e.h, CURLOPT_LOW_SPEED_TIME, 30L);
        ProgressState ps{&progress, offset, expected_size};
        curl_easy_setopt(e.h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(e.h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(e.h, CURLOPT_XFERINFODATA, &ps);
        CURLcode rc = curl_easy_perform(e.h);
        long status = 0;
        curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &status);
        bool flushed = std::fflush(file.get()) == 0;
        if (!flushed && !sink.write_errno) sink.write_errno = errno;
        file.reset();

        if (sink.write_errno) {
            if (sink.write_errno == ENOSPC)
                fail("the disk is full while writing {} ({} of {} downloaded); free some space and pull again to "
                     "resume",
                     partial.string(), human_size(file_size_or_zero(partial)), human_size(expected_size));
            fail("{}: cannot write the download: {}", partial.string(), std::strerror(sink.write_errno));
        }
        if (rc == CURLE_OK && offset > 0 && status == 200) {
            // The server ignored the Range request and sent the whole file after our bytes.
            fs::remove(partial);
            if (attempt < kAttempts) continue;
            fail("GET {}: the server does not support resuming; try again", url);
        }
        if (rc == CURLE_RANGE_ERROR || (rc == CURLE_HTTP_RETURNED_ERROR && status == 416)) {
            fs::remove(partial);  // what we have does not fit what the server has: start over
            if (attempt < kAttempts) continue;
        }
        if (rc == CURLE_HTTP_RETURNED_ERROR) {
            if (status == 404) fail("GET {}: not found (HTTP 404)", url);
            fail("GET {}: the server answered HTTP {}", url, status);
        }
        const uint64_t have = file_size_or_zero(partial);
        if (rc == CURLE_OK && have == expected_size) return;
        if (rc == CURLE_OK && have > expected_size) {
            fs::remove(partial);
            fail("GET {}: the server sent more bytes than the {} expected; the download was discarded", url,
                 human_size(expected_size));
        }
        if (unreachable(rc) && have == offset && attempt == 1)
            throw NetworkError(fmt::format("cannot reach {}: {}", url_host(url), describe(rc, err)));
        if ((transient(rc) || unreachable(rc) || rc == CURLE_OK) && attempt < kAttempts) {
            if (note)
                note(fmt::format("the connection dropped after {} of {} ({}); resuming", human_size(have),
                                 human_size(expected_size), rc == CURLE_OK ? "short response" : describe(rc, err)));
            continue;
        }
        fail("GET {} failed after {} attempts: {} ({} of {} kept; pull again to resume)", url, attempt,
             rc == CURLE_OK ? "the response was shorter than expected" : describe(rc, err), human_size(have),
             human_size(expected_size));
    }
}

}  // namespace hearth::library
