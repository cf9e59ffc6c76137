// The library routes of `hearth serve` without -m, in process against a temporary library and
// a loopback registry (library_fixture.h): /api/pull streams Ollama's NDJSON progress and the
// model is then listed, served by name and shown in /api/ps; /api/copy and /api/delete (which
// unloads); bad bodies are 400s naming the field, unknown models 404s.
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "library/sha256.h"
#include "library_fixture.h"
#include "serve/server.h"
#include "test_support.h"

namespace hearth::serve {
namespace {

using nlohmann::json;

class ServeLibrary : public ::testing::Test {
protected:
    void SetUp() override {
        const auto dir = test::temp_dir();
        test::write_tiny_model(dir / "tiny.gguf");
        gguf_ = test::read_file(dir / "tiny.gguf");
        registry_ = std::make_unique<test::LibraryFixtureServer>();
        registry_->add_registry_model("library/tiny:v1", gguf_);
        const char* old = std::getenv("HEARTH_REGISTRY");
        saved_registry_ = old ? std::optional<std::string>(old) : std::nullopt;
        setenv("HEARTH_REGISTRY", registry_->url().c_str(), 1);

        ServerOptions o;
        o.port = 0;
        o.library_home = (dir / "home").string();
        o.scheduler.n_slots = 1;
        o.scheduler.n_ctx = 64;
        o.scheduler.n_threads = 1;
        server_ = std::make_unique<Server>(o);
        port_ = server_->bind();
        thread_ = std::thread([this] { server_->listen(); });
    }
    void TearDown() override {
        server_->stop();
        thread_.join();
        if (saved_registry_) setenv("HEARTH_REGISTRY", saved_registry_->c_str(), 1);
        else unsetenv("HEARTH_REGISTRY");
    }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(120);
        return c;
    }
    json get(const std::string& path) {
        auto r = client().Get(path);
        EXPECT_TRUE(r && r->status == 200) << path;
        return r ? json::parse(r->body) : json();
    }
    std::vector<std::string> names(const std::string& path) {
        std::vector<std::string> out;
        const json listing = get(path);
        for (const auto& m : listing["models"]) out.push_back(m["name"]);
        return out;
    }

    std::string gguf_;
    std::unique_ptr<test::LibraryFixtureServer> registry_;
    std::optional<std::string> saved_registry_;
    std::unique_ptr<Server> server_;
    std::thread thread_;
    int port_ = 0;
};

using Names = std::vector<std::string>;

TEST_F(ServeLibrary, PullListServeCopyDelete) {
    EXPECT_EQ(names("/api/tags"), Names{});
    auto pulled = client().Post("/api/pull", R"({"model":"tiny:v1"})", "application/json");
    ASSERT_TRUE(pulled);
    ASSERT_EQ(pulled->status, 200) << pulled->body;
    std::vector<json> lines;
    std::istringstream in(pulled->body);
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    ASSERT_GE(lines.size(), 3u) << pulled->body;
    EXPECT_EQ(lines.front()["status"], "pulling manifest");
    EXPECT_EQ(lines.back()["status"], "success") << pulled->body;
    bool progress = false;
    for (const json& l : lines)
        if (l.contains("total") && l["completed"] == l["total"] && l["total"] == gguf_.size()) progress = true;
    EXPECT_TRUE(progress) << pulled->body;

    const json tags = get("/api/tags");
    ASSERT_EQ(tags["models"].size(), 1u);
    EXPECT_EQ(tags["models"][0]["name"], "tiny:v1");
    EXPECT_EQ(tags["models"][0]["digest"], library::sha256_hex(gguf_));
    EXPECT_EQ(get("/v1/models")["data"][0]["id"], "tiny:v1");

    auto gen = client().Post("/api/generate", R"({"model":"tiny:v1","prompt":"a","raw":true,"stream":false,"options":{"num_predict":2}})",
                             "application/json");
    ASSERT_TRUE(gen);
    EXPECT_EQ(gen->status, 200) << gen->body;
    EXPECT_EQ(json::parse(gen->body)["model"], "tiny:v1");
    EXPECT_EQ(names("/api/ps"), Names{"tiny:v1"});
    auto show = client().Post("/api/show", R"({"model":"tiny:v1"})", "application/json");
    ASSERT_TRUE(show && show->status == 200);
    EXPECT_EQ(json::parse(show->body)["details"]["family"], "llama");

    auto copied = client().Post("/api/copy", R"({"source":"tiny:v1","destination":"other"})", "application/json");
    ASSERT_TRUE(copied);
    EXPECT_EQ(copied->status, 200) << copied->body;
    EXPECT_EQ(names("/api/tags"), (Names{"other:latest", "tiny:v1"}));

    auto deleted = client().Delete("/api/delete", R"({"model":"tiny:v1"})", "application/json");
    ASSERT_TRUE(deleted);
    EXPECT_EQ(deleted->status, 200) << deleted->body;
    EXPECT_EQ(names("/api/tags"), Names{"other:latest"});
    EXPECT_EQ(names("/api/ps"), Names{});  // deleting unloads it
    auto again = client().Delete("/api/delete", R"({"model":"tiny:v1"})", "application/json");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 404);
}

TEST_F(ServeLibrary, BadBodiesAre400sNamingTheField) {
    const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
        {"/api/pull", "{", "JSON"},
        {"/api/pull", "[]", "object"},
        {"/api/pull", "{}", "'model'"},
        {"/api/pull", R"({"model":"tiny:v1","stream":"yes"})", "'stream'"},
        {"/api/pull", R"({"model":"bad name"})", "'model'"},
        {"/api/copy", R"({"source":"tiny:v1"})", "'destination'"},
        {"/api/copy", R"({"source":5,"destination":"x"})", "'source'"},
        {"/api/generate", R"({"prompt":"x"})", "'model'"},
        {"/api/generate", R"({"model":"tiny:v1","prompt":"x","keep_alive":"later"})", "keep_alive"},
        {"/api/show", R"({})", "'model'"},
    };
    for (const auto& [path, body, word] : cases) {
        auto r = client().Post(path, body, "application/json");
        ASSERT_TRUE(r) << path;
        EXPECT_EQ(r->status, 400) << path << " " << body << ": " << r->body;
        const json j = json::parse(r->body);
        ASSERT_TRUE(j["error"].is_string()) << r->body;
        EXPECT_NE(j["error"].get<std::string>().find(word), std::string::npos) << path << " " << body << ": " << r->body;
    }
    auto d = client().Delete("/api/delete", R"({"name":""})", "application/json");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->status, 400) << d->body;
    // Names that are not in the library, and never a file path: 404s.
    for (const char* body : {R"({"model":"nosuch","prompt":"x"})", R"({"model":"/etc/passwd","prompt":"x"})",
                             R"({"model":"../x.gguf","prompt":"x"})"}) {
        auto r = client().Post("/api/generate", body, "application/json");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 404) << body << ": " << r->body;
    }
    auto missing = client().Post("/api/pull", R"({"model":"nosuch:v1","stream":false})", "application/json");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 500);
    EXPECT_TRUE(json::parse(missing->body)["error"].is_string()) << missing->body;
}

}  // namespace
}  // namespace hearth::serve
