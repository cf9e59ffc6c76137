// `hearth pull` and the library commands against a loopback fixture server that speaks the
// Hugging Face file API and the Ollama registry API (library_fixture.h). Serves
// ../shared/models/stories260K.gguf; skips without it. Never reaches the internet.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "library/pull.h"
#include "library/resolve.h"
#include "library/sha256.h"
#include "library_fixture.h"
#include "process.h"
#include "test_support.h"

namespace hearth::library {
namespace {

namespace fs = std::filesystem;
using test::LibraryFixtureServer;
using test::ProcessResult;

constexpr const char* kRepo = "tester/stories-GGUF";

class LibraryPull : public ::testing::Test {
protected:
    void SetUp() override {
        model_path_ = test::shared_path("models/stories260K.gguf");
        if (model_path_.empty()) GTEST_SKIP() << "../shared/models/stories260K.gguf not found (skipping)";
        gguf_ = test::read_file(model_path_);
        sha_ = sha256_hex(gguf_);
        home_ = test::temp_dir();
        server_ = std::make_unique<LibraryFixtureServer>();
        server_->add_hf_file(kRepo, "README.md", "# stories\n", "", false);
        server_->add_hf_file(kRepo, "stories-Q4_K_M.gguf", gguf_);
        server_->add_hf_file(kRepo, "stories-Q8_0.gguf", gguf_);
        server_->add_registry_model("library/stories:260k", gguf_,
                                    {{media::kTemplate, "{{ .Prompt }}"}, {media::kLicense, "MIT, for tests"},
                                     {media::kParams, R"({"temperature":0.1})"}});
        save_env("HF_ENDPOINT", server_->url());
        save_env("HEARTH_REGISTRY", server_->url());
        save_env("HEARTH_HOME", home_.string());
    }
    void TearDown() override {
        for (auto& [name, value] : saved_env_) {
            if (value) setenv(name.c_str(), value->c_str(), 1);
            else unsetenv(name.c_str());
        }
    }
    void save_env(const std::string& name, const std::string& value) {
        const char* old = std::getenv(name.c_str());
        saved_env_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
        setenv(name.c_str(), value.c_str(), 1);
    }
    ProcessResult hearth(std::vector<std::string> args) {
        args.insert(args.begin(), HEARTH_BINARY);
        return test::run_process(args, {.stdin_data = "", .timeout_seconds = 120});
    }
    // Nothing half-done may stay behind in the store.
    void expect_no_partials() {
        std::error_code ec;
        for (const auto& e : fs::recursive_directory_iterator(home_, ec)) {
            const std::string name = e.path().filename().string();
            EXPECT_EQ(name.find("partial"), std::string::npos) << e.path();
            EXPECT_EQ(name.find(".tmp."), std::string::npos) << e.path();
        }
    }

    std::string model_path_, gguf_, sha_;
    fs::path home_;
    std::unique_ptr<LibraryFixtureServer> server_;
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_env_;
};

TEST_F(LibraryPull, HuggingFaceByQuant) {
    Store store(home_);
    std::vector<std::string> notes;
    PullEvents ev;
    ev.note = [&](const std::string& n) { notes.push_back(n); };
    uint64_t last_done = 0;
    ev.progress = [&](const std::string&, uint64_t done, uint64_t total) {
        EXPECT_LE(done, total);
        last_done = done;
    };
    const ModelName name = parse_model_name(std::string("hf.co/") + kRepo + ":q8_0");
    PullResult r = pull(store, name, ev);
    EXPECT_EQ(r.downloaded_bytes, gguf_.size());
    EXPECT_EQ(last_done, gguf_.size());
    EXPECT_EQ(r.model_file, store.blob_path("sha256:" + sha_).string());
    EXPECT_EQ(test::read_file(r.model_file), gguf_);
    ASSERT_FALSE(notes.empty());
    EXPECT_NE(notes[0].find("stories-Q8_0.gguf"), std::string::npos) << notes[0];
    expect_no_partials();

    // The default quant (Q4_K_M) is the same bytes: stored once, nothing downloaded.
    const int before = server_->downloads.load();
    PullResult again = pull(store, parse_model_name(std::string("hf.co/") + kRepo), {});
    EXPECT_EQ(again.downloaded_bytes, 0u);
    EXPECT_EQ(server_->downloads.load(), before);
    EXPECT_EQ(store.list().size(), 2u);
}

TEST_F(LibraryPull, UnknownQuantListsTheAvailableOnes) {
    Store store(home_);
    try {
        pull(store, parse_model_name(std::string("hf.co/") + kRepo + ":Q2_K"), {});
        FAIL() << "pulled a quant that does not exist";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("available: Q4_K_M, Q8_0"), std::string::npos) << e.what();
    }
}

TEST_F(LibraryPull, OllamaRegistryKeepsLayersBesideTheModel) {
    Store store(home_);
    const ModelName name = parse_model_name("stories:260k");
    PullResult r = pull(store, name, {});
    EXPECT_EQ(test::read_file(r.model_file), gguf_);
    ASSERT_TRUE(r.manifest.config);
    EXPECT_TRUE(store.has_blob(r.manifest.config->digest));
    const Layer* license = r.manifest.find(media::kLicense);
    ASSERT_NE(license, nullptr);
    EXPECT_EQ(store.read_layer_text(*license), "MIT, for tests");
    ResolvedModel m = resolve_model("stories:260k");
    EXPECT_EQ(m.path, r.model_file);
    EXPECT_EQ(m.params["temperature"].get<double>(), 0.1);
    EXPECT_FALSE(m.tmpl) << "an Ollama (Go) template is kept but not used as a Jinja template";
    expect_no_partials();
}

TEST_F(LibraryPull, ResumesAfterADroppedConnection) {
    server_->drop_next = 1;
    Store store(home_);
    std::vector<std::string> notes;
    PullEvents ev;
    ev.note = [&](const std::string& n) { notes.push_back(n); };
    PullResult r = pull(store, parse_model_name("stories:260k"), ev);
    EXPECT_EQ(test::read_file(r.model_file), gguf_);
    const auto ranges = server_->ranges_seen();
    bool resumed = false;
    for (const auto& range : ranges) resumed |= range.rfind("bytes=", 0) == 0 && range != "bytes=0-";
    EXPECT_TRUE(resumed) << "no Range request after the drop";
    bool noted = false;
    for (const auto& n : notes) noted |= n.find("resuming") != std::string::npos;
    EXPECT_TRUE(noted);
    expect_no_partials();
}

TEST_F(LibraryPull, ResumesAPartialLeftByAnEarlierRun) {
    Store store(home_);
    const std::string digest = "sha256:" + sha_;
    fs::create_directories(home_ / "blobs");
    const size_t half = gguf_.size() / 2;
    std::ofstream(store.partial_path(digest), std::ios::binary).write(gguf_.data(), static_cast<std::streamsize>(half));
    PullResult r = pull(store, parse_model_name(std::string("hf.co/") + kRepo), {});
    EXPECT_EQ(r.downloaded_bytes, gguf_.size() - half);
    EXPECT_EQ(test::read_file(r.model_file), gguf_);
    const auto ranges = server_->ranges_seen();
    ASSERT_EQ(ranges.size(), 1u);
    EXPECT_EQ(ranges[0], "bytes=" + std::to_string(half) + "-");
}

TEST_F(LibraryPull, WrongChecksumIsRejectedAndNothingStored) {
    server_->add_hf_file("tester/liar-GGUF", "liar-Q4_K_M.gguf", gguf_, std::string(64, 'f'));
    Store store(home_);
    try {
        pull(store, parse_model_name("hf.co/tester/liar-GGUF"), {});
        FAIL() << "accepted a file whose sha256 does not match";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("checksum mismatch"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(store.list().empty());
    EXPECT_FALSE(store.has_blob("sha256:" + std::string(64, 'f')));
    EXPECT_FALSE(store.has_blob("sha256:" + sha_));
    expect_no_partials();
}

TEST_F(LibraryPull, NotEnoughDiskSpaceIsSaidBeforeDownloading) {
    server_->add_hf_file("tester/huge-GGUF", "huge-Q4_K_M.gguf", gguf_, "", true, uint64_t{1} << 60);
    Store store(home_);
    try {
        pull(store, parse_model_name("hf.co/tester/huge-GGUF"), {});
        FAIL() << "pulled an exabyte";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not enough disk space"), std::string::npos) << e.what();
    }
    EXPECT_EQ(server_->downloads.load(), 0);
    EXPECT_TRUE(store.list().empty());
}

TEST_F(LibraryPull, ImportByReferenceSaysWhenTheFileIsGone) {
    const fs::path copy = home_ / "elsewhere.gguf";
    fs::copy_file(model_path_, copy);
    ASSERT_EQ(hearth({"import", copy.string(), "moved"}).exit_code, 0);
    fs::remove(copy);
    ProcessResult r = hearth({"run", "-m", "moved", "-p", "x", "-n", "1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no longer exists"), std::string::npos) << r.err;
    ProcessResult list = hearth({"list"});
    EXPECT_NE(list.out.find("moved:latest"), std::string::npos) << "a broken entry still lists, so it can be removed";
    EXPECT_EQ(hearth({"rm", "moved"}).exit_code, 0);
}

TEST_F(LibraryPull, NotFoundAndUnreachableGiveClearErrors) {
    Store store(home_);
    try {
        pull(store, parse_model_name("hf.co/tester/missing-GGUF"), {});
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("HTTP 404"), std::string::npos) << e.what();
    }
    try {
        pull(store, parse_model_name("nosuchmodel:1b"), {});
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'nosuchmodel:1b' was not found"), std::string::npos) << e.what();
    }
    // Port 1 on loopback: nothing listens, like a machine without a network.
    setenv("HF_ENDPOINT", "http://127.0.0.1:1", 1);
    try {
        pull(store, parse_model_name("hf.co/tester/stories-GGUF"), {});
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("hearth run -m /path/to/model.gguf"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(store.list().empty());
}

TEST_F(LibraryPull, ConcurrentPullsLeaveAConsistentStore) {
    server_->chunk_delay_ms = 5;  // ~20 chunks: long enough for the two pulls to overlap
    const std::string name = std::string("hf.co/") + kRepo + ":Q8_0";
    ProcessResult a, b;
    std::thread ta([&] { a = hearth({"pull", name, "--quiet"}); });
    std::thread tb([&] { b = hearth({"pull", name, "--quiet"}); });
    ta.join();
    tb.join();
    EXPECT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(server_->downloads.load(), 1) << "the second pull should wait for the first and reuse its blob";
    Store store(home_);
    ASSERT_EQ(store.list().size(), 1u);
    EXPECT_EQ(sha256_file(store.blob_path("sha256:" + sha_).string()), sha_);
    expect_no_partials();
}

TEST_F(LibraryPull, CliPullListShowRmAndRunByName) {
    ProcessResult p = hearth({"pull", "stories:260k", "--json"});
    ASSERT_EQ(p.exit_code, 0) << p.err;
    auto pj = nlohmann::json::parse(p.out);
    EXPECT_EQ(pj["name"], "stories:260k");
    EXPECT_EQ(pj["digest"], "sha256:" + sha_);

    // Same weights under a second name (by copy): rm of one must keep the blob for the other.
    ProcessResult imp = hearth({"import", model_path_, "tiny", "--copy"});
    ASSERT_EQ(imp.exit_code, 0) << imp.err;

    ProcessResult list = hearth({"list", "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    auto lj = nlohmann::json::parse(list.out);
    ASSERT_EQ(lj["models"].size(), 2u);
    EXPECT_EQ(lj["models"][0]["name"], "stories:260k");
    EXPECT_EQ(lj["models"][0]["quantization"], "F32");
    ProcessResult text = hearth({"list"});
    EXPECT_NE(text.out.find("NAME"), std::string::npos);
    EXPECT_NE(text.out.find("tiny:latest"), std::string::npos);

    ProcessResult show = hearth({"show", "stories:260k", "--json"});
    ASSERT_EQ(show.exit_code, 0) << show.err;
    auto sj = nlohmann::json::parse(show.out);
    EXPECT_EQ(sj["architecture"], "llama");
    EXPECT_GT(sj["parameters"].get<uint64_t>(), 200000u);
    EXPECT_GT(sj["context_length"].get<uint64_t>(), 0u);
    EXPECT_EQ(sj["license"], "MIT, for tests");
    EXPECT_EQ(sj["template"], "{{ .Prompt }}");

    // run and bench take the name; the output matches running the file directly.
    ProcessResult by_name = hearth({"run", "-m", "stories:260k", "-p", "Once upon a time", "-n", "12", "--temp", "0", "-q"});
    ProcessResult by_path = hearth({"run", "-m", model_path_, "-p", "Once upon a time", "-n", "12", "--temp", "0", "-q"});
    ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
    EXPECT_EQ(by_name.out, by_path.out);
    EXPECT_FALSE(by_name.out.empty());
    ProcessResult bench = hearth({"bench", "-m", "tiny", "-p", "8", "-n", "4", "-r", "1", "--no-bandwidth", "-q"});
    EXPECT_EQ(bench.exit_code, 0) << bench.err;

    ProcessResult rm = hearth({"rm", "stories:260k", "--json"});
    ASSERT_EQ(rm.exit_code, 0) << rm.err;
    auto rj = nlohmann::json::parse(rm.out);
    for (const auto& freed : rj["freed_blobs"])
        EXPECT_EQ(freed.get<std::string>().find(sha_), std::string::npos) << "freed a blob tiny still uses";
    EXPECT_EQ(rj["freed_blobs"].size(), 4u);  // config, template, license, params
    Store store(home_);
    EXPECT_TRUE(store.has_blob("sha256:" + sha_));
    ProcessResult run_tiny = hearth({"run", "-m", "tiny", "-p", "Once upon a time", "-n", "12", "--temp", "0", "-q"});
    EXPECT_EQ(run_tiny.out, by_path.out);
    ProcessResult rm2 = hearth({"rm", "tiny"});
    ASSERT_EQ(rm2.exit_code, 0) << rm2.err;
    EXPECT_FALSE(store.has_blob("sha256:" + sha_));
    // bench does not pull: it says how to; run tries to pull a missing name, like Ollama.
    ProcessResult gone = hearth({"bench", "-m", "tiny", "-r", "1"});
    EXPECT_EQ(gone.exit_code, 1);
    EXPECT_NE(gone.err.find("hearth pull tiny"), std::string::npos) << gone.err;
    ProcessResult pulled = hearth({"run", "-m", "tiny", "-p", "x", "-n", "1"});
    EXPECT_EQ(pulled.exit_code, 1);
    EXPECT_NE(pulled.err.find("'tiny:latest' was not found"), std::string::npos) << pulled.err;
}

TEST_F(LibraryPull, FirstRunPullsTheDefaultModelAndOfflineSaysWhatToDo) {
    // Serve the default repository with the tiny model's bytes under the expected file name.
    ModelName def = parse_model_name(kDefaultModel);
    server_->add_hf_file(def.space + "/" + def.model, "SmolLM2-360M-Instruct-Q4_K_M.gguf", gguf_);
    ProcessResult first = hearth({"run", "-p", "Once upon a time", "-n", "4", "--temp", "0"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_NE(first.err.find("no -m given: downloading the default model"), std::string::npos) << first.err;
    ProcessResult second = hearth({"run", "-p", "Once upon a time", "-n", "4", "--temp", "0"});
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(second.err.find("downloading"), std::string::npos) << "pulled twice: " << second.err;
    EXPECT_EQ(first.out, second.out);

    setenv("HF_ENDPOINT", "http://127.0.0.1:1", 1);
    ProcessResult offline = hearth({"run", "-p", "hi", "-n", "1", "--home", (home_ / "empty").string()});
    EXPECT_EQ(offline.exit_code, 1);
    EXPECT_NE(offline.err.find("hearth run -m /path/to/model.gguf"), std::string::npos) << offline.err;
    EXPECT_NE(offline.err.find("hearth import"), std::string::npos) << offline.err;
}

TEST_F(LibraryPull, CreateMakesAPresetThatRunUses) {
    ASSERT_EQ(hearth({"import", model_path_, "stories"}).exit_code, 0);
    const fs::path mf = home_ / "Modelfile";
    std::ofstream(mf) << "FROM stories\nSYSTEM Tell a story.\nPARAMETER num_ctx 64\nPARAMETER temperature 0\n";
    ProcessResult c = hearth({"create", "teller", "-f", mf.string()});
    ASSERT_EQ(c.exit_code, 0) << c.err;
    ProcessResult show = hearth({"show", "teller", "--json"});
    ASSERT_EQ(show.exit_code, 0) << show.err;
    auto sj = nlohmann::json::parse(show.out);
    EXPECT_EQ(sj["system"], "Tell a story.");
    EXPECT_EQ(sj["params"]["num_ctx"], 64);
    ProcessResult r = hearth({"run", "-m", "teller", "-p", "Once", "-n", "4"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("ctx 64"), std::string::npos) << r.err;  // num_ctx from the preset
    ProcessResult flag_wins = hearth({"run", "-m", "teller", "-p", "Once", "-n", "4", "-c", "128"});
    EXPECT_NE(flag_wins.err.find("ctx 128"), std::string::npos) << flag_wins.err;
    // Removing the preset leaves the base model alone (its file is outside the library anyway).
    ASSERT_EQ(hearth({"rm", "teller"}).exit_code, 0);
    EXPECT_EQ(hearth({"show", "stories"}).exit_code, 0);

    std::ofstream(mf) << "FROM stories\nPARAMETER warmth 3\n";
    ProcessResult bad = hearth({"create", "bad", "-f", mf.string()});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find(":2: unknown parameter 'warmth'"), std::string::npos) << bad.err;
}

TEST_F(LibraryPull, PsWithoutAServerSaysSo) {
    ProcessResult r = hearth({"ps", "--port", "1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no hearth serve is running on 127.0.0.1:1"), std::string::npos) << r.err;
}

TEST_F(LibraryPull, PsShowsWhatTheServerHasLoaded) {
    const std::string port = server_->url().substr(server_->url().rfind(':') + 1);
    ProcessResult none = hearth({"ps", "--port", port});
    EXPECT_EQ(none.exit_code, 1);  // 404: not a hearth serve
    EXPECT_NE(none.err.find("HTTP 404"), std::string::npos) << none.err;
    server_->set_ps_json(R"({"models":[{"name":"stories:260k","model":"stories:260k","size":1185376,)"
                         R"("digest":"sha256:270cba1bd510aaaa","expires_at":"2999-01-01T00:00:00Z","size_vram":0}]})");
    ProcessResult r = hearth({"ps", "--port", port});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("stories:260k"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("270cba1bd510"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("100% CPU"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1.2 MB"), std::string::npos) << r.out;
    ProcessResult j = hearth({"ps", "--port", port, "--json"});
    ASSERT_EQ(j.exit_code, 0) << j.err;
    EXPECT_EQ(nlohmann::json::parse(j.out)["models"][0]["size"], 1185376);
}

}  // namespace
}  // namespace hearth::library
