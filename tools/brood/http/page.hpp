// The web page of GET / (http/page.html), embedded in the binary when brood is built
// (http/embed.cmake): one self-contained file, no build step, nothing fetched from elsewhere.
#pragma once

#include <string_view>

namespace brood::http {

extern const std::string_view index_page;

}  // namespace brood::http
