// library::http_get's errors: NetworkError (host unreachable) is a hearth::Error, so a plain
// `catch (const hearth::Error&)` reports it, while callers that add advice can still tell it apart.
#include <string>
#include <type_traits>

#include <gtest/gtest.h>

#include "common/error.h"
#include "library/http.h"

namespace hearth::library {
namespace {

static_assert(std::is_base_of_v<Error, NetworkError>);

TEST(LibraryHttp, UnreachableHostIsANetworkErrorCaughtAsHearthError) {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    try {
        http_get("http://127.0.0.1:1/", {}, 10);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(dynamic_cast<const NetworkError*>(&e), nullptr) << e.what();
        EXPECT_NE(std::string(e.what()).find("cannot reach 127.0.0.1:1"), std::string::npos) << e.what();
    }
}

TEST(LibraryHttp, BadUrlIsAHearthErrorButNotANetworkError) {
    try {
        http_get("nosuchscheme://example/", {}, 10);
        FAIL() << "expected an error";
    } catch (const NetworkError& e) {
        FAIL() << "a malformed URL is not 'unreachable': " << e.what();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("nosuchscheme://example/"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace hearth::library
