// The web page of `hearth serve` (serve/webui.h): the embedded files are served at / and
// /webui/... with their content types, a strict Content-Security-Policy and without the API key
// (the page holds no data; the API routes still need the key); --no-webui turns them into 404s.
#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "serve/server.h"
#include "serve/webui.h"
#include "test_support.h"

namespace hearth::serve {
namespace {

class RunningLibraryServer {
public:
    explicit RunningLibraryServer(bool webui) {
        ServerOptions o;
        o.port = 0;
        o.library_home = (test::temp_dir() / "home").string();  // empty: no model is needed
        o.api_key = "secret";
        o.webui = webui;
        o.access_log = false;
        o.scheduler.n_slots = 1;
        o.scheduler.n_threads = 1;
        server_ = std::make_unique<Server>(o);
        port_ = server_->bind();
        thread_ = std::thread([this] { server_->listen(); });
    }
    ~RunningLibraryServer() {
        server_->stop();
        thread_.join();
    }
    httplib::Result get(const std::string& path, bool with_key = false) const {
        httplib::Headers headers;
        if (with_key) headers.emplace("Authorization", "Bearer secret");
        return httplib::Client("127.0.0.1", port_).Get(path, headers);
    }

private:
    std::unique_ptr<Server> server_;
    std::thread thread_;
    int port_ = 0;
};

TEST(ServeWebUi, EmbedsThePageAndTheThreeLibraries) {
    for (const char* url : {"/", "/webui/app.js", "/webui/app.css", "/webui/lib/marked.min.js",
                            "/webui/lib/purify.min.js", "/webui/lib/highlight.min.js",
                            "/webui/lib/highlight-light.css", "/webui/lib/highlight-dark.css"}) {
        const WebAsset* asset = find_web_asset(url);
        ASSERT_NE(asset, nullptr) << url;
        EXPECT_GT(asset->body.size(), 100u) << url;
    }
    EXPECT_EQ(find_web_asset("/webui/nope.js"), nullptr);
    EXPECT_EQ(find_web_asset("/webui"), nullptr);
    // The page loads its scripts from files: the CSP allows no inline script.
    const std::string_view page = find_web_asset("/")->body;
    EXPECT_NE(page.find("<script src=\"/webui/app.js\""), std::string_view::npos);
    EXPECT_EQ(page.find("<script>"), std::string_view::npos);
    EXPECT_EQ(page.find("http://"), std::string_view::npos);  // nothing from elsewhere
    EXPECT_EQ(page.find("https://"), std::string_view::npos);
}

TEST(ServeWebUi, ServesEachFileWithItsTypeAndTheCspWithoutTheKey) {
    const RunningLibraryServer server(/*webui=*/true);
    const struct {
        const char* path;
        const char* type;
    } cases[] = {{"/", "text/html; charset=utf-8"},
                 {"/webui/app.js", "text/javascript; charset=utf-8"},
                 {"/webui/app.css", "text/css; charset=utf-8"},
                 {"/webui/lib/marked.min.js", "text/javascript; charset=utf-8"},
                 {"/webui/lib/highlight-dark.css", "text/css; charset=utf-8"}};
    for (const auto& c : cases) {
        auto r = server.get(c.path);
        ASSERT_TRUE(r) << c.path;
        EXPECT_EQ(r->status, 200) << c.path;
        EXPECT_EQ(r->get_header_value("Content-Type"), c.type) << c.path;
        EXPECT_EQ(r->get_header_value("Content-Security-Policy"), kWebUiCsp) << c.path;
        EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << c.path;
        EXPECT_EQ(r->body, find_web_asset(c.path)->body) << c.path;
    }
    EXPECT_NE(std::string(kWebUiCsp).find("default-src 'self'"), std::string::npos);
    EXPECT_EQ(std::string(kWebUiCsp).find("unsafe-inline"), std::string::npos);
    // Unknown files are 404s; the API still needs the key.
    auto missing = server.get("/webui/nope.js");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    auto models = server.get("/v1/models");
    ASSERT_TRUE(models);
    EXPECT_EQ(models->status, 401);
}

TEST(ServeWebUi, NoWebUiMeansNotFound) {
    const RunningLibraryServer server(/*webui=*/false);
    for (const char* path : {"/", "/webui/app.js"}) {
        auto r = server.get(path);
        ASSERT_TRUE(r) << path;
        // With the page off its paths are no longer open: the key first, as everywhere, then 404.
        EXPECT_EQ(r->status, 401) << path;
        auto keyed = server.get(path, /*with_key=*/true);
        ASSERT_TRUE(keyed) << path;
        EXPECT_EQ(keyed->status, 404) << path;
        EXPECT_EQ(keyed->get_header_value("Content-Security-Policy"), "") << path;
    }
}

}  // namespace
}  // namespace hearth::serve
