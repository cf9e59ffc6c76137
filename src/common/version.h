#pragma once
// What build this is: the project version (CMakeLists.txt) and the git commit, both filled in
// at build time (cmake/version.cmake).

namespace hearth {

const char* version();     // "0.1.0"
const char* git_commit();  // short hash, "-dirty" when built from changed files; "unknown" outside git

}  // namespace hearth
