# brood up against supervisord, s6 and runit (bench/supervisor_compare.py; results and the command
# in docs/benchmarks.md). Included by bench/CMakeLists.txt. The program every supervisor runs, static
# so that the restart latency measured is the supervisor's, not the dynamic loader's (~1.5 ms here):
add_executable(supervised_program ${CMAKE_CURRENT_LIST_DIR}/supervised_program.c)
target_compile_options(supervised_program PRIVATE -Wall -Wextra -Werror)
target_link_options(supervised_program PRIVATE -static)
# The restart floor: the least a supervisor can do (waitpid + posix_spawn), as a fifth row.
add_executable(restart_floor ${CMAKE_CURRENT_LIST_DIR}/restart_floor.c)
target_compile_options(restart_floor PRIVATE -Wall -Wextra -Werror)
