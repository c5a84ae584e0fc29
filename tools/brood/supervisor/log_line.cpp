#include "supervisor/log_line.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace brood::supervisor {

std::string_view stream_name(output_stream stream) {
    switch (stream) {
        case output_stream::out: return "stdout";
        case output_stream::err: return "stderr";
        case output_stream::tty: return "tty";
        case output_stream::brood: return "brood";
        case output_stream::health: return "health";
    }
    return "brood";
}

namespace {

// text as a JSON string. Printable ASCII without '"' and '\\', as most lines are, is copied as it is:
// building a json value for each line would cost more than the rest of relaying it. Anything else
// goes through nlohmann, where a byte that is not UTF-8 becomes U+FFFD rather than failing the line.
void append_json_string(std::string& into, std::string_view text) {
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (!plain) {
        into += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return;
    }
    into += '"';
    into += text;
    into += '"';
}

}  // namespace

void append_log_line(std::string& into, const log_config& config, const log_line_source& source, std::string_view piece,
                     bool starts, bool ends) {
    if (config.format == log_format::json) {
        into += "{\"time\":";
        append_json_string(into, source.time);
        into += ",\"instance\":";
        append_json_string(into, source.instance);
        into += ",\"stream\":";
        append_json_string(into, stream_name(source.stream));
        into += ",\"line\":";
        append_json_string(into, piece);
        into += ends ? "}\n" : ",\"split\":true}\n";
        return;
    }
    if (config.timestamps && starts) {
        into += source.time;
        into += ' ';
        into += stream_name(source.stream);
        into += ' ';
    } else if (source.stream == output_stream::health && starts) {
        into += "health: ";  // the check's lines stand out among the program's own without timestamps too
    }
    into += piece;
    if (ends) into += '\n';
}

}  // namespace brood::supervisor
