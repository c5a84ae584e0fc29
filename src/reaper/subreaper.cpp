#include <cerrno>

#include <sys/prctl.h>

#include <brood/error.hpp>
#include <brood/reaper.hpp>

namespace brood {

void become_subreaper(bool enable) {
    if (::prctl(PR_SET_CHILD_SUBREAPER, enable ? 1UL : 0UL, 0UL, 0UL, 0UL) == -1)
        throw_errno(errno, "prctl(PR_SET_CHILD_SUBREAPER)");
}

bool is_subreaper() {
    int flag = 0;
    if (::prctl(PR_GET_CHILD_SUBREAPER, &flag, 0UL, 0UL, 0UL) == -1) throw_errno(errno, "prctl(PR_GET_CHILD_SUBREAPER)");
    return flag != 0;
}

}  // namespace brood
