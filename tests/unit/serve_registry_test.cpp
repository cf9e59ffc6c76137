// The model registry of `hearth serve` (serve/model_registry.h): one load however many first
// requests, the memory budget and --max-loaded with least-recently-used eviction of idle models
// only, keep_alive (0, negative, expiry), the never-fits error, load failures; and keep_alive
// parsing. Real loads of the synthetic tiny model under several names; the memory each needs
// is set by the test, so the budget arithmetic is exact.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "model/memory.h"
#include "serve/model_registry.h"
#include "serve/request.h"
#include "test_support.h"

namespace hearth::serve {
namespace {

using namespace std::chrono_literals;

class Registry : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        path_ = new std::string((test::temp_dir() / "registry-tiny.gguf").string());
        test::write_tiny_model(*path_);
    }
    static void TearDownTestSuite() {
        delete path_;
        path_ = nullptr;
    }

    // Models "a", "b", "c" (the tiny model each), needing need_[name] bytes.
    ModelSource source() {
        ModelSource s;
        s.find = [](const std::string& name) -> std::optional<ModelSpec> {
            if (name != "a" && name != "b" && name != "c" && name != "broken") return std::nullopt;
            return ModelSpec{name, name == "broken" ? "/no/such/model.gguf" : *path_, "", "sha256:" + name};
        };
        s.memory_need = [this](const ModelSpec& spec) { return need_.at(spec.name); };
        s.load = [this](const ModelSpec& spec) {
            ++loads_;
            SchedulerOptions o;
            o.n_slots = 1;
            o.n_ctx = 64;
            o.n_threads = 1;
            return std::make_unique<ServedModel>(spec, load_model(spec.path), o);
        };
        return s;
    }

    static std::vector<std::string> loaded_names(const ModelRegistry& r) {
        std::vector<std::string> names;
        for (const LoadedInfo& info : r.loaded()) names.push_back(info.model->spec.name);
        return names;
    }

    static std::string* path_;
    std::map<std::string, uint64_t> need_{{"a", 100}, {"b", 100}, {"c", 100}, {"broken", 100}};
    std::atomic<int> loads_{0};
};
std::string* Registry::path_ = nullptr;

using Names = std::vector<std::string>;

TEST_F(Registry, ConcurrentFirstRequestsShareOneLoad) {
    ModelRegistry r(source(), RegistryOptions{});
    std::vector<std::thread> threads;
    std::vector<ModelRegistry::Lease> leases(6);
    for (size_t i = 0; i < leases.size(); ++i) threads.emplace_back([&, i] { leases[i] = r.acquire("a"); });
    for (auto& t : threads) t.join();
    EXPECT_EQ(loads_.load(), 1);
    for (const auto& l : leases) EXPECT_EQ(l.get(), leases[0].get());
    EXPECT_EQ(r.loaded().at(0).in_use, 6);
}

TEST_F(Registry, BudgetEvictsTheLeastRecentlyUsedIdleModel) {
    RegistryOptions o;
    o.max_memory = 250;  // two of the three
    ModelRegistry r(source(), o);
    r.acquire("a");
    r.acquire("b");
    r.acquire("a");  // a is now the more recently used
    EXPECT_EQ(loaded_names(r), (Names{"a", "b"}));
    r.acquire("c");  // needs b's room
    EXPECT_EQ(loaded_names(r), (Names{"a", "c"}));
    EXPECT_EQ(loads_.load(), 3);
}

TEST_F(Registry, MaxLoadedCountsModels) {
    RegistryOptions o;
    o.max_loaded = 1;
    ModelRegistry r(source(), o);
    r.acquire("a");
    r.acquire("b");
    EXPECT_EQ(loaded_names(r), (Names{"b"}));
}

TEST_F(Registry, ModelsInUseAreNeverEvicted) {
    RegistryOptions o;
    o.max_memory = 150;  // one at a time
    o.wait_for_memory = 50ms;
    ModelRegistry r(source(), o);
    ModelRegistry::Lease a = r.acquire("a");
    try {
        r.acquire("b");
        FAIL() << "b loaded while a, in use, holds the budget";
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 503);
        EXPECT_EQ(e.code, "memory_busy");
    }
    EXPECT_EQ(loaded_names(r), (Names{"a"}));
    a.reset();  // a's request ends: now it may go
    r.acquire("b");
    EXPECT_EQ(loaded_names(r), (Names{"b"}));
}

TEST_F(Registry, IdleModelsStayWhenUnloadingThemWouldNotMakeRoom) {
    RegistryOptions o;
    o.max_memory = 250;
    o.wait_for_memory = 50ms;
    need_["c"] = 200;
    ModelRegistry r(source(), o);
    ModelRegistry::Lease a = r.acquire("a");
    r.acquire("b");  // idle; a (in use) + c would exceed the budget even without b
    EXPECT_THROW(r.acquire("c"), ApiError);
    EXPECT_EQ(loaded_names(r), (Names{"a", "b"}));
}

TEST_F(Registry, AWaitingLoadProceedsWhenTheModelInUseIsReleased) {
    RegistryOptions o;
    o.max_memory = 150;
    ModelRegistry r(source(), o);
    ModelRegistry::Lease a = r.acquire("a");
    std::thread t([&] { r.acquire("b"); });
    while (r.loaded().size() != 1 || loads_.load() != 1) std::this_thread::yield();
    a.reset();
    t.join();
    EXPECT_EQ(loaded_names(r), (Names{"b"}));
}

TEST_F(Registry, LoadingOneModelDoesNotBlockRequestsToLoadedOnes) {
    ModelSource s = source();
    std::mutex gate;
    std::unique_lock<std::mutex> closed(gate);  // b's load waits on this until the end
    std::atomic<bool> b_loading{false};
    auto real_load = s.load;
    s.load = [&, real_load](const ModelSpec& spec) {
        if (spec.name == "b") {
            b_loading = true;
            std::lock_guard<std::mutex> wait(gate);
        }
        return real_load(spec);
    };
    ModelRegistry r(s, RegistryOptions{});
    r.acquire("a");
    std::thread loading_b([&] { r.acquire("b"); });
    while (!b_loading) std::this_thread::yield();
    EXPECT_NE(r.acquire("a"), nullptr);  // answered while b is still loading
    EXPECT_EQ(loaded_names(r), (Names{"a"}));  // b is not listed until loaded
    closed.unlock();
    loading_b.join();
    EXPECT_EQ(loaded_names(r), (Names{"a", "b"}));
}

TEST_F(Registry, AModelLargerThanTheBudgetIsAClearError) {
    RegistryOptions o;
    o.max_memory = 500;
    need_["c"] = 1000;
    ModelRegistry r(source(), o);
    r.acquire("a");
    try {
        r.acquire("c");
        FAIL() << "no error";
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 400);
        EXPECT_EQ(e.code, "model_too_large");
        const std::string m = e.what();
        for (const char* part : {"'c'", "1000 bytes", "500 bytes"}) EXPECT_NE(m.find(part), std::string::npos) << m;
    }
    EXPECT_EQ(loaded_names(r), (Names{"a"}));  // nothing was unloaded for a model that cannot fit
    EXPECT_EQ(loads_.load(), 1);
}

TEST_F(Registry, KeepAliveZeroUnloadsWhenTheRequestEnds) {
    ModelRegistry r(source(), RegistryOptions{});
    ModelRegistry::Lease a = r.acquire("a", KeepAlive(0));
    EXPECT_EQ(loaded_names(r), (Names{"a"}));
    a.reset();
    EXPECT_TRUE(r.loaded().empty());
}

TEST_F(Registry, NegativeKeepAliveKeepsTheModelWithoutExpiry) {
    RegistryOptions o;
    o.keep_alive = 1ms;
    ModelRegistry r(source(), o);
    r.acquire("a", kKeepForever);
    r.acquire("b");  // the default: 1 ms
    while (r.loaded().size() != 1) std::this_thread::sleep_for(5ms);  // b expires
    const std::vector<LoadedInfo> left = r.loaded();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].model->spec.name, "a");
    EXPECT_FALSE(left[0].expires_at.has_value());
}

TEST_F(Registry, ExpiryIsKeepAliveAfterTheLastRequest) {
    ModelRegistry r(source(), RegistryOptions{});  // 5 minutes
    const auto before = std::chrono::system_clock::now();
    r.acquire("a");
    const std::vector<LoadedInfo> info = r.loaded();
    ASSERT_EQ(info.size(), 1u);
    ASSERT_TRUE(info[0].expires_at.has_value());
    EXPECT_GE(*info[0].expires_at, before + 5min);
    EXPECT_LE(*info[0].expires_at, std::chrono::system_clock::now() + 5min);
    EXPECT_EQ(info[0].memory_need, 100u);
}

TEST_F(Registry, UnloadOfAModelInUseWaitsForItsRequest) {
    ModelRegistry r(source(), RegistryOptions{});
    ModelRegistry::Lease a = r.acquire("a");
    EXPECT_TRUE(r.unload("a"));
    EXPECT_EQ(loaded_names(r), (Names{"a"}));
    a.reset();
    EXPECT_TRUE(r.loaded().empty());
    EXPECT_FALSE(r.unload("a"));
}

TEST_F(Registry, UnknownNamesAre404AndFailedLoads500) {
    ModelRegistry r(source(), RegistryOptions{});
    try {
        r.acquire("zzz");
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 404);
        EXPECT_EQ(e.code, "model_not_found");
    }
    for (int attempt = 0; attempt < 2; ++attempt) {  // a failed load leaves nothing behind
        try {
            r.acquire("broken");
            FAIL();
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status, 500);
            EXPECT_NE(std::string(e.what()).find("'broken'"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(loads_.load(), 2);
    EXPECT_TRUE(r.loaded().empty());
}

TEST_F(Registry, APinnedModelStaysLoaded) {
    SchedulerOptions so;
    so.n_slots = 1;
    so.n_ctx = 64;
    so.n_threads = 1;
    ModelSource s = source();
    ModelRegistry r(std::make_unique<ServedModel>(ModelSpec{"a", *path_, "", ""}, load_model(*path_), so), s);
    r.acquire("a", KeepAlive(0));
    EXPECT_FALSE(r.unload("a"));
    ASSERT_EQ(loaded_names(r), (Names{"a"}));
    EXPECT_FALSE(r.loaded()[0].expires_at.has_value());
    EXPECT_EQ(loads_.load(), 0);
}

TEST_F(Registry, MemoryNeedIsFitsAccountingWithTheKvOfEverySlot) {
    SchedulerOptions one;
    one.n_slots = 1;
    one.n_ctx = 128;
    one.n_threads = 1;
    SchedulerOptions three = one;
    three.n_slots = 3;
    const LoadedModel m = load_model(*path_);
    const uint64_t kv_one = memory::sequence_cache_bytes(m.model->hparams(), 128, memory::kv_type_traits(one.kv_type));
    EXPECT_GT(serving_memory_need(*path_, one), m.file->file_size());  // weights and more
    EXPECT_EQ(serving_memory_need(*path_, three) - serving_memory_need(*path_, one), 2 * kv_one);
}

TEST(KeepAliveText, DurationsAndSeconds) {
    EXPECT_EQ(parse_keep_alive_text("10m"), KeepAlive(600000));
    EXPECT_EQ(parse_keep_alive_text("1h30m"), KeepAlive(5400000));
    EXPECT_EQ(parse_keep_alive_text("2.5s"), KeepAlive(2500));
    EXPECT_EQ(parse_keep_alive_text("250ms"), KeepAlive(250));
    EXPECT_EQ(parse_keep_alive_text("300"), KeepAlive(300000));
    EXPECT_EQ(parse_keep_alive_text("0"), KeepAlive(0));
    EXPECT_LT(parse_keep_alive_text("-1").count(), 0);
    EXPECT_LT(parse_keep_alive_text("-5m").count(), 0);
    EXPECT_EQ(read_keep_alive(nlohmann::ordered_json{{"keep_alive", 60}}), KeepAlive(60000));
    EXPECT_EQ(read_keep_alive(nlohmann::ordered_json{{"keep_alive", 0}}), KeepAlive(0));
    EXPECT_LT(read_keep_alive(nlohmann::ordered_json{{"keep_alive", -1}})->count(), 0);
    EXPECT_FALSE(read_keep_alive(nlohmann::ordered_json{{"keep_alive", nullptr}}).has_value());
    EXPECT_FALSE(read_keep_alive(nlohmann::ordered_json::object()).has_value());
}

TEST(KeepAliveText, BadValuesAre400sNamingTheField) {
    for (const char* text : {"", "abc", "5x", "1m5", "m", "-", "1.2.3s", "5 m"}) {
        try {
            parse_keep_alive_text(text, "--keep-alive");
            ADD_FAILURE() << "accepted \"" << text << "\"";
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status, 400);
            EXPECT_NE(std::string(e.what()).find("--keep-alive"), std::string::npos) << e.what();
        }
    }
    for (const auto& v : {nlohmann::ordered_json(true), nlohmann::ordered_json::array(), nlohmann::ordered_json::object()}) {
        try {
            read_keep_alive(nlohmann::ordered_json{{"keep_alive", v}});
            ADD_FAILURE() << "accepted " << v.dump();
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status, 400);
            EXPECT_NE(std::string(e.what()).find("keep_alive"), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace hearth::serve
