# brood up against supervisord, s6 and runit (bench/supervisor_compare.py; results and the command
# in docs/benchmarks.md). Included by bench/CMakeLists.txt. The program every supervisor runs, static
# so that the restart latency measured is the supervisor's, not the dynamic loader's (~1.5 ms here):
add_executable(supervised_program ${CMAKE_CURRENT_LIST_DIR}/supervised_program.c)
target_compile_options(supervised_program PRIVATE -Wall -Wextra -Werror)
target_link_options(supervised_program PRIVATE -static)
# bench/failure_restart.py's watchdog case: WATCHDOG=1 until told to hang. Static, as the other.
add_executable(watchdog_program ${CMAKE_CURRENT_LIST_DIR}/watchdog_program.c)
target_compile_options(watchdog_program PRIVATE -Wall -Wextra -Werror)
target_link_options(watchdog_program PRIVATE -static)
# bench/failure_restart.py's failed-check case: the program and its check in one. Static, as the others.
add_executable(health_program ${CMAKE_CURRENT_LIST_DIR}/health_program.c)
target_compile_options(health_program PRIVATE -Wall -Wextra -Werror)
target_link_options(health_program PRIVATE -static)
# The restart floor: the least a supervisor can do (waitpid + posix_spawn), as a fifth row.
add_executable(restart_floor ${CMAKE_CURRENT_LIST_DIR}/restart_floor.c)
target_compile_options(restart_floor PRIVATE -Wall -Wextra -Werror)
# The log relay's load (bench/log_throughput.py): numbered lines as fast as it can, or at a rate.
add_executable(line_writer ${CMAKE_CURRENT_LIST_DIR}/line_writer.c)
target_compile_options(line_writer PRIVATE -Wall -Wextra -Werror)
# The floor of a status or a scrape (bench/http_cost.py): the same files read with one pread each.
add_executable(pread_floor ${CMAKE_CURRENT_LIST_DIR}/pread_floor.c)
target_compile_options(pread_floor PRIVATE -Wall -Wextra -Werror)
# An exec health check's least cost to its supervisor (bench/health_checks.py): posix_spawn + waitpid,
# or a vfork-style clone3 into a cgroup, through libbrood's trampoline.
add_executable(exec_check_floor ${CMAKE_CURRENT_LIST_DIR}/exec_check_floor.c
                                ${PROJECT_SOURCE_DIR}/src/spawn/clone3_trampoline.S)
target_compile_options(exec_check_floor PRIVATE -Wall -Wextra -Werror)
