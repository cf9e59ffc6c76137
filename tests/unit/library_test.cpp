// The model library's pure parts: sha256, name parsing, the Modelfile parser, choosing a GGUF
// from a repository listing, and the store's reference counting. No network, no ../shared.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "library/modelfile.h"
#include "library/name.h"
#include "library/pull.h"
#include "library/sha256.h"
#include "library/store.h"
#include "process.h"
#include "test_support.h"

namespace hearth::library {
namespace {

TEST(LibrarySha256, KnownVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    // One million 'a', fed in uneven pieces to exercise the buffering.
    Sha256 s;
    std::string chunk(997, 'a');
    size_t left = 1000000;
    while (left > 0) {
        size_t n = std::min(left, chunk.size());
        s.update(chunk.data(), n);
        left -= n;
    }
    EXPECT_EQ(s.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(LibraryName, OllamaDefaults) {
    ModelName n = parse_model_name("llama3.2");
    EXPECT_EQ(n.host, "registry.ollama.ai");
    EXPECT_EQ(n.space, "library");
    EXPECT_EQ(n.model, "llama3.2");
    EXPECT_EQ(n.tag, "latest");
    EXPECT_EQ(n.display(), "llama3.2:latest");
    EXPECT_EQ(n.full(), "registry.ollama.ai/library/llama3.2:latest");
    EXPECT_EQ(n.manifest_relpath(), "registry.ollama.ai/library/llama3.2/latest");

    n = parse_model_name("qwen2.5:0.5b-instruct-q4_K_M");
    EXPECT_EQ(n.model, "qwen2.5");
    EXPECT_EQ(n.tag, "0.5b-instruct-q4_K_M");

    n = parse_model_name("someone/mymodel:v1");
    EXPECT_EQ(n.space, "someone");
    EXPECT_EQ(n.display(), "someone/mymodel:v1");

    n = parse_model_name("localhost:5000/team/model:tag");
    EXPECT_EQ(n.host, "localhost:5000");
    EXPECT_EQ(n.space, "team");
    EXPECT_EQ(n.tag, "tag");
    EXPECT_EQ(n.display(), "localhost:5000/team/model:tag");
}

TEST(LibraryName, HuggingFace) {
    ModelName n = parse_model_name("hf.co/bartowski/SmolLM2-360M-Instruct-GGUF:Q8_0");
    EXPECT_TRUE(n.is_hugging_face());
    EXPECT_EQ(n.space, "bartowski");
    EXPECT_EQ(n.model, "SmolLM2-360M-Instruct-GGUF");
    EXPECT_EQ(n.quant(), "Q8_0");
    n = parse_model_name("huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF");
    EXPECT_EQ(n.host, "hf.co");
    EXPECT_EQ(n.tag, "latest");
    EXPECT_EQ(n.quant(), "Q4_K_M");
}

TEST(LibraryName, BadNamesGiveOneLineReasons) {
    const std::pair<const char*, const char*> bad[] = {
        {"", "empty"},
        {"llama:", "tag after ':' is empty"},
        {":tag", "model name is empty"},
        {"a/b/c/d", "expected NAME"},
        {"hf.co/onlyrepo", "hf.co/OWNER/REPO"},
        {"model@sha256:abc", "digest"},
        {"has space", "space"},
        {"-leading", "must start with a letter or digit"},
        {"ns/.hidden", "must start with a letter or digit"},
        {"bad$char", "may only contain"},
        {"model:ta/g", "may only contain"},
        {"model:bad!", "may only contain"},
        {"/model", "namespace is empty"},
        {"line\nbreak", "control character"},
    };
    for (const auto& [text, why] : bad) {
        try {
            parse_model_name(text);
            ADD_FAILURE() << "accepted '" << text << "'";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << text << ": " << e.what();
            if (std::string(text).find('\n') == std::string::npos) {
                EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
            }
        }
    }
    EXPECT_THROW(parse_model_name(std::string(81, 'a')), Error);
}

TEST(LibraryName, PathsAreNotNames) {
    const auto dir = test::temp_dir();
    const std::string existing = (dir / "weights").string();
    std::ofstream(existing) << "x";
    EXPECT_TRUE(is_file_path(existing));
    EXPECT_TRUE(is_file_path("/nonexistent/model.bin"));
    EXPECT_TRUE(is_file_path("./model"));
    EXPECT_TRUE(is_file_path("../model"));
    EXPECT_TRUE(is_file_path("missing.gguf"));
    EXPECT_TRUE(is_file_path("dir/missing.GGUF"));
    EXPECT_FALSE(is_file_path("llama3.2:1b"));
    EXPECT_FALSE(is_file_path("hf.co/owner/repo:Q4_K_M"));
    EXPECT_FALSE(is_file_path(""));
}

TEST(LibraryModelfile, ParsesEveryInstruction) {
    const std::string text =
        "# a preset\n"
        "FROM stories:latest\n"
        "system You are terse.\n"
        "PARAMETER temperature 0.25\n"
        "PARAMETER num_ctx 256\n"
        "PARAMETER stop \"<|end|>\"\n"
        "PARAMETER stop ###\n"
        "TEMPLATE \"\"\"\n"
        "{% for m in messages %}{{ m.content }}{% endfor %}\n"
        "\"\"\"\n"
        "LICENSE \"\"\"MIT\"\"\"\n";
    Modelfile mf = parse_modelfile(text, "Modelfile");
    EXPECT_EQ(mf.from, "stories:latest");
    ASSERT_TRUE(mf.system);
    EXPECT_EQ(*mf.system, "You are terse.");
    ASSERT_TRUE(mf.tmpl);
    EXPECT_EQ(*mf.tmpl, "{% for m in messages %}{{ m.content }}{% endfor %}\n");
    EXPECT_EQ(*mf.license, "MIT");
    EXPECT_DOUBLE_EQ(mf.params["temperature"].get<double>(), 0.25);
    EXPECT_EQ(mf.params["num_ctx"].get<int>(), 256);
    EXPECT_EQ(mf.params["stop"], nlohmann::ordered_json::array({"<|end|>", "###"}));
}

TEST(LibraryModelfile, BadInputNamesTheLine) {
    const std::pair<const char*, const char*> bad[] = {
        {"SYSTEM hi\n", "no FROM line"},
        {"FROM a\nFROM b\n", ":2: FROM given twice"},
        {"FROM\n", ":1: FROM needs"},
        {"FROM a\nPARAMETER temperature\n", ":2: PARAMETER needs a name and a value"},
        {"FROM a\nPARAMETER warmth 3\n", ":2: unknown parameter 'warmth'"},
        {"FROM a\nPARAMETER num_ctx lots\n", "needs an integer"},
        {"FROM a\nPARAMETER num_ctx 0\n", "num_ctx must be between"},
        {"FROM a\nPARAMETER temperature 0.5x\n", "needs a number"},
        {"FROM a\nPARAMETER temperature nan\n", "needs a number"},
        {"FROM a\nADAPTER x\n", ":2: unknown instruction 'ADAPTER'"},
        {"FROM a\nTEMPLATE \"\"\"never closed\n\n", ":2: the \"\"\" opened here is never closed"},
        {"FROM a\nSYSTEM \"\"\"x\"\"\" trailing\n", "unexpected text after the closing"},
    };
    for (const auto& [text, why] : bad) {
        try {
            parse_modelfile(text, "Modelfile");
            ADD_FAILURE() << "accepted: " << text;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << text << " -> " << e.what();
        }
    }
}

TEST(LibraryChooseGguf, PicksByQuantCaseInsensitively) {
    const std::vector<std::string> files = {"README.md", "Model-Q4_K_M.gguf", "Model-Q4_K_S.gguf", "Model-Q8_0.gguf",
                                            "Model-f16.gguf", "mmproj-Model-f16.gguf"};
    EXPECT_EQ(choose_gguf(files, "Q4_K_M", "r"), "Model-Q4_K_M.gguf");
    EXPECT_EQ(choose_gguf(files, "q8_0", "r"), "Model-Q8_0.gguf");
    EXPECT_EQ(choose_gguf(files, "F16", "r"), "Model-f16.gguf");  // the mmproj file is not a model
    try {
        choose_gguf(files, "Q4_K", "hf.co/o/r");
        ADD_FAILURE() << "Q4_K is ambiguous";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("several files"), std::string::npos) << e.what();
    }
    try {
        choose_gguf(files, "Q2_K", "hf.co/o/r");
        ADD_FAILURE() << "there is no Q2_K";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("available: F16, Q4_K_M, Q4_K_S, Q8_0"), std::string::npos) << e.what();
    }
    EXPECT_THROW(choose_gguf({"README.md"}, "Q4_K_M", "r"), Error);
    // An exact token match wins over a longer name that contains it.
    EXPECT_EQ(choose_gguf({"m.Q4_0.gguf", "m.IQ4_0x.gguf"}, "Q4_0", "r"), "m.Q4_0.gguf");
    EXPECT_THROW(choose_gguf({"m-Q4_K_M-00001-of-00002.gguf", "m-Q4_K_M-00002-of-00002.gguf"}, "Q4_K_M", "r"), Error);
}

TEST(LibraryStore, RemoveKeepsBlobsOtherManifestsUse) {
    Store store(test::temp_dir());
    Layer shared = store.add_blob(media::kModel, "pretend weights");
    Layer sys = store.add_blob(media::kSystem, "be brief");
    Manifest a, b;
    a.layers = {shared};
    b.layers = {shared, sys};
    store.write_manifest(parse_model_name("a"), a);
    store.write_manifest(parse_model_name("b:v1"), b);
    ASSERT_EQ(store.list().size(), 2u);

    auto freed = store.remove(parse_model_name("b:v1"));
    ASSERT_EQ(freed.size(), 1u);  // only the system layer; the weights are still used by a
    EXPECT_EQ(freed[0], store.blob_path(sys.digest));
    EXPECT_TRUE(store.has_blob(shared.digest));
    EXPECT_FALSE(store.has_blob(sys.digest));

    freed = store.remove(parse_model_name("a"));
    EXPECT_EQ(freed.size(), 1u);
    EXPECT_FALSE(store.has_blob(shared.digest));
    EXPECT_TRUE(store.list().empty());
    EXPECT_THROW(store.remove(parse_model_name("a")), Error);
}

TEST(LibraryStore, ManifestRoundTripAndBadManifests) {
    Store store(test::temp_dir());
    Layer w = store.add_blob(media::kModel, "w");
    Manifest m;
    m.layers = {w, Layer{media::kLicense, "", 3, "/elsewhere/LICENSE"}};
    m.source = "test";
    store.write_manifest(parse_model_name("x"), m);
    auto back = store.read_manifest(parse_model_name("x"));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->to_json(), m.to_json());
    // A manifest that names a blob the store lacks is refused.
    Manifest missing;
    missing.layers = {Layer{media::kModel, "sha256:" + std::string(64, 'a'), 1, ""}};
    EXPECT_THROW(store.write_manifest(parse_model_name("y"), missing), Error);
    EXPECT_FALSE(store.read_manifest(parse_model_name("y")));

    for (const char* bad : {R"([])", R"({"layers": 3})", R"({"layers": [{"mediaType": "m"}]})",
                            R"({"layers": [{"digest": "sha256:../../etc/passwd"}]})",
                            R"({"layers": [{"digest": "md5:abc", "size": 1}]})",
                            R"({"layers": [{"path": "/x", "size": -1}]})"}) {
        EXPECT_THROW(Manifest::from_json(nlohmann::json::parse(bad), "m"), Error) << bad;
    }
}

TEST(LibraryStore, HomeComesFromFlagThenEnvironment) {
    EXPECT_EQ(Store::default_home("/explicit/home"), "/explicit/home");
    const char* old = std::getenv("HEARTH_HOME");
    std::string saved = old ? old : "";
    setenv("HEARTH_HOME", "/from/env", 1);
    EXPECT_EQ(Store::default_home(), "/from/env");
    EXPECT_EQ(Store::default_home("/flag"), "/flag");
    if (old) setenv("HEARTH_HOME", saved.c_str(), 1);
    else unsetenv("HEARTH_HOME");
}

}  // namespace
}  // namespace hearth::library

namespace hearth::library {
namespace {

// The library commands' errors through the real CLI: one line, exit code 1, nothing stored.
TEST(LibraryCli, BadInputIsOneLineErrorAndStoresNothing) {
    const auto dir = test::temp_dir();
    const std::string home = (dir / "home").string();
    const std::string not_gguf = (dir / "notes.gguf").string();
    std::ofstream(not_gguf) << "not a gguf file at all";
    auto hearth = [&](std::vector<std::string> args) {
        args.insert(args.begin(), HEARTH_BINARY);
        args.push_back("--home");
        args.push_back(home);
        return test::run_process(args);
    };
    const std::pair<std::vector<std::string>, std::string> cases[] = {
        {{"import", not_gguf, "notes"}, "notes.gguf"},
        {{"import", (dir / "missing.gguf").string(), "m"}, "missing.gguf"},
        {{"import", not_gguf, "bad name!"}, "invalid model name"},
        {{"pull", "hf.co/justowner"}, "hf.co/OWNER/REPO"},
        {{"rm", "never-added"}, "'never-added:latest' is not in the library"},
        {{"show", "never-added"}, "hearth pull never-added:latest"},
        {{"info", "-m", "never-added"}, "hearth pull never-added:latest"},
        {{"create", "x", "-f", (dir / "no-Modelfile").string()}, "no-Modelfile"},
    };
    for (const auto& [args, message] : cases) {
        test::ProcessResult r = hearth(args);
        EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.err;
        EXPECT_NE(r.err.find(message), std::string::npos) << args[0] << ": " << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
    }
    test::ProcessResult list = hearth({"list", "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(nlohmann::json::parse(list.out)["models"].size(), 0u);
}

}  // namespace
}  // namespace hearth::library
