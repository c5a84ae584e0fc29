// A user database of a test's own: in a process of the test's (a forked child), the passwd and
// group files in a directory are bind-mounted over /etc/passwd and /etc/group, in a mount
// namespace of that process alone, so the machine's own files are never touched. Needs root.
#pragma once

#include <filesystem>

namespace brood::testing {

// Throws std::runtime_error naming the step that failed and its errno name.
void use_user_database(const std::filesystem::path& dir);

}  // namespace brood::testing
