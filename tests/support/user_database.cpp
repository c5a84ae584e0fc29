#include "support/user_database.hpp"

#include <cerrno>
#include <stdexcept>
#include <string>

#include <sched.h>
#include <sys/mount.h>

#include <brood/error.hpp>

namespace brood::testing {

void use_user_database(const std::filesystem::path& dir) {
    const auto check = [](bool ok, const std::string& what) {
        if (!ok) throw std::runtime_error(what + ": " + brood::errno_name(errno));
    };
    check(::unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS)");
    check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, "mount --make-rprivate /");
    for (const char* file : {"passwd", "group"}) {
        const std::string source = (dir / file).string(), target = std::string("/etc/") + file;
        check(::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) == 0, "bind mount " + target);
    }
}

}  // namespace brood::testing
