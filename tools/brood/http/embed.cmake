# Writes OUTPUT, a C++ source that defines brood::http::index_page as the bytes of INPUT:
#   cmake -DINPUT=page.html -DOUTPUT=page_html.cpp -P embed.cmake
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
file(WRITE "${OUTPUT}.new"
  "// Generated from ${INPUT} by embed.cmake at build time: edit the HTML, not this.\n"
  "#include \"http/page.hpp\"\n\n"
  "namespace brood::http {\nnamespace {\n\nconstexpr char bytes[] = {${bytes}};\n\n}  // namespace\n\n"
  "const std::string_view index_page{bytes, sizeof bytes};\n\n}  // namespace brood::http\n")
file(RENAME "${OUTPUT}.new" "${OUTPUT}")
