// ${VAR} and ${VAR:-default} in brood.toml's command, directory and environment values, expanded
// when the configuration loads. docs/config.md: "Variables".
//
//   expansion e = expand_variables("${HOME}/bin:${EXTRA:-/opt}", lookup);   // e.error when one is unset
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace brood::supervisor {

// The value of a variable, or nullopt when it is not set.
using variable_lookup = std::function<std::optional<std::string>(std::string_view name)>;

struct expansion {
    std::string text;
    std::optional<std::string> error;  // the first reference that could not be expanded, and why
};

// One pass from left to right: "${NAME}" is NAME's value, and an error when NAME is not set;
// "${NAME:-default}" is NAME's value, or default (taken as written) when NAME is unset or empty;
// "$$" is one '$'. Any other '$' is kept as it is, for a shell to see. What a value brings in is
// never scanned again, so a value holding "${NAME}" stays as it is and nothing can loop.
expansion expand_variables(std::string_view text, const variable_lookup& lookup);

}  // namespace brood::supervisor
