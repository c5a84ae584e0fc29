// Which environment variables brood status --env shows masked: names that say they hold a secret.
#pragma once

#include <string_view>

namespace brood::cli {

// Names ending in _TOKEN, _PASSWORD, _SECRET or _KEY, in any case (also the bare words: TOKEN).
bool looks_secret(std::string_view name);

// What is printed in place of a secret value.
inline constexpr std::string_view masked_value = "********";

}  // namespace brood::cli
