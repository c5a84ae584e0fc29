#include <brood/pool/pool_core.hpp>

#include <sched.h>

namespace brood::detail {

// The CPUs of this process's affinity mask: what taskset or a cpuset cgroup allows, not the machine's.
std::size_t available_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return static_cast<std::size_t>(n);
    }
    return 1;
}

}  // namespace brood::detail
