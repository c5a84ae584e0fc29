#include "supervisor/variable_expansion.hpp"

namespace brood::supervisor {
namespace {

bool valid_name(std::string_view name) {
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
    for (char c : name)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

}  // namespace

expansion expand_variables(std::string_view text, const variable_lookup& lookup) {
    expansion result;
    auto fail = [&](std::string why) {
        result.error = std::move(why);
        return std::move(result);
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '$' || i + 1 == text.size() || (text[i + 1] != '$' && text[i + 1] != '{')) {
            result.text += text[i];
            continue;
        }
        if (text[i + 1] == '$') {
            result.text += '$';
            ++i;
            continue;
        }
        const std::size_t close = text.find('}', i + 2);
        if (close == std::string_view::npos) return fail("\"${\" without its closing '}' (write $$ for a '$')");
        const std::string_view inside = text.substr(i + 2, close - i - 2);
        const std::size_t dash = inside.find(":-");
        const std::string_view name = inside.substr(0, dash);
        if (!valid_name(name))
            return fail("\"${" + std::string(inside) + "}\": expected ${NAME} or ${NAME:-default}, NAME of letters, digits and _");
        const std::optional<std::string> value = lookup(name);
        if (dash != std::string_view::npos) {
            result.text += value && !value->empty() ? *value : std::string(inside.substr(dash + 2));
        } else if (value) {
            result.text += *value;
        } else {
            return fail("${" + std::string(name) + "}: " + std::string(name) + " is not set (give a default: ${" +
                        std::string(name) + ":-value})");
        }
        i = close;
    }
    return result;
}

}  // namespace brood::supervisor
