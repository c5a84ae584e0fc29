#include "supervisor/log_line.hpp"

#include <nlohmann/json.hpp>

namespace brood::supervisor {

std::string_view stream_name(output_stream stream) { return stream == output_stream::out ? "stdout" : "stderr"; }

void append_log_line(std::string& into, const log_config& config, const log_line_source& source, std::string_view piece,
                     bool starts, bool ends) {
    if (config.format == log_format::json) {
        nlohmann::ordered_json object{{"time", source.time},
                              {"instance", source.instance},
                              {"stream", stream_name(source.stream)},
                              {"line", piece}};
        if (!ends) object["split"] = true;
        // Output need not be UTF-8: a byte that is not becomes U+FFFD rather than failing the line.
        into += object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
        into += '\n';
        return;
    }
    if (config.timestamps && starts) {
        into += source.time;
        into += ' ';
        into += stream_name(source.stream);
        into += ' ';
    }
    into += piece;
    if (ends) into += '\n';
}

}  // namespace brood::supervisor
