# brood run against tini, dumb-init and catatonit (bench/init_compare.cpp; results and the command
# in docs/benchmarks.md). Included by bench/CMakeLists.txt. Needs the brood command.
if(BROOD_BUILD_TOOLS AND EXISTS ${PROJECT_SOURCE_DIR}/tools/brood/CMakeLists.txt)
  # The programs the inits run: the tests' own helpers, built again here so the benchmark does not
  # need the tests.
  set(BROOD_INIT_HELPER_TARGETS)
  foreach(helper cli_zombie_storm cli_leave_behind cli_raise)
    add_executable(init_${helper} ${PROJECT_SOURCE_DIR}/tests/helpers/${helper}.c)
    set_target_properties(init_${helper} PROPERTIES OUTPUT_NAME ${helper}
      RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/init_helpers)
    list(APPEND BROOD_INIT_HELPER_TARGETS init_${helper})
  endforeach()

  add_executable(init_compare init_compare.cpp)
  target_link_libraries(init_compare PRIVATE brood::brood)
  target_compile_options(init_compare PRIVATE ${BROOD_BENCH_WARNINGS})
  target_compile_definitions(init_compare PRIVATE
    BENCH_BROOD_PATH="$<TARGET_FILE:brood_cli>"
    BENCH_INIT_HELPERS="${CMAKE_CURRENT_BINARY_DIR}/init_helpers")
  add_dependencies(init_compare brood_cli ${BROOD_INIT_HELPER_TARGETS})
endif()
