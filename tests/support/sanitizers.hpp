// Which sanitizer this test binary was built with, for the few checks whose figures a sanitizer's
// runtime changes (its own threads, its shadow memory, its slower start).
#pragma once

namespace brood::testing {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool under_tsan = true;
#else
inline constexpr bool under_tsan = false;
#endif

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif

}  // namespace brood::testing
