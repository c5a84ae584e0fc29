# brood up against supervisord, s6 and runit (bench/supervisor_compare.py; results and the command
# in docs/benchmarks.md). Included by bench/CMakeLists.txt. The program every supervisor runs:
add_executable(supervised_program ${CMAKE_CURRENT_LIST_DIR}/supervised_program.c)
target_compile_options(supervised_program PRIVATE -Wall -Wextra -Werror)
