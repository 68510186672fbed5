# Every fuzz target built without libFuzzer, as a replayer (fuzz/replay_main.cpp), in every build; CTest
# runs each over its regression inputs and seeds from the test data, plus a few thousand deterministic
# mutants. Real fuzzing is RNNC_FUZZ=ON + scripts/fuzz.sh (clang); see docs/reliability.md.
set(fuzz_dir ${CMAKE_SOURCE_DIR}/fuzz)
function(rnnc_add_fuzz_replay target)
  cmake_parse_arguments(R "" "" "SOURCES;LIBS;SEEDS;DEFINITIONS" ${ARGN})
  add_executable(replay_${target} ${fuzz_dir}/replay_main.cpp ${fuzz_dir}/${target}.cpp ${R_SOURCES})
  target_link_libraries(replay_${target} PRIVATE ${R_LIBS})
  if(R_DEFINITIONS)
    target_compile_definitions(replay_${target} PRIVATE ${R_DEFINITIONS})
  endif()
  set(inputs ${R_SEEDS})
  if(EXISTS ${fuzz_dir}/regressions/${target})
    list(APPEND inputs ${fuzz_dir}/regressions/${target})
  endif()
  # The seed directory may lack a target's folder (make_seeds.py skips what it cannot make): created empty.
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz-replay-seeds/${target})
  add_test(NAME fuzz_replay.${target}
           COMMAND replay_${target} --mutants 3000 ${CMAKE_BINARY_DIR}/fuzz-replay-seeds/${target} ${inputs})
  set(RNNC_REPLAY_TARGETS ${RNNC_REPLAY_TARGETS} ${target} PARENT_SCOPE)
endfunction()

find_package(ZLIB REQUIRED)
find_package(Python3 COMPONENTS Interpreter REQUIRED)
rnnc_add_fuzz_replay(fuzz_ir_parser LIBS rnnc_ir SEEDS ${CMAKE_SOURCE_DIR}/tests/lit/parse ${CMAKE_SOURCE_DIR}/tests/lit/zoo)
rnnc_add_fuzz_replay(fuzz_onnx_proto LIBS rnnc_onnx_io SEEDS ${CMAKE_SOURCE_DIR}/tests/onnx/data)
if(TARGET rnnc_onnx)
  rnnc_add_fuzz_replay(fuzz_onnx_importer LIBS rnnc_onnx onnx_proto protobuf
                       DEFINITIONS ONNX_ML=1 ONNX_NAMESPACE=onnx SEEDS ${CMAKE_SOURCE_DIR}/tests/onnx/data)
endif()
rnnc_add_fuzz_replay(fuzz_imdb_archive LIBS rnnc_data)
rnnc_add_fuzz_replay(fuzz_vocab LIBS rnnc_data)
rnnc_add_fuzz_replay(fuzz_token_file LIBS rnnc_data)
rnnc_add_fuzz_replay(fuzz_checkpoint LIBS rnnc_runtime ZLIB::ZLIB SOURCES ${CMAKE_SOURCE_DIR}/runtime/train/checkpoint.cpp)

# Seeds made by the real writers and tools (fuzz/make_seeds.py, as scripts/fuzz.sh makes them), once,
# before the replayers (a CTest fixture).
add_executable(rnnc-fuzz-seeds ${fuzz_dir}/make_seeds.cpp ${CMAKE_SOURCE_DIR}/runtime/train/checkpoint.cpp)
target_link_libraries(rnnc-fuzz-seeds PRIVATE rnnc_data rnnc_runtime)
set(fuzz_seed_dir ${CMAKE_BINARY_DIR}/fuzz-replay-seeds)
add_test(NAME fuzz_replay.seeds
         COMMAND ${Python3_EXECUTABLE} ${fuzz_dir}/make_seeds.py ${fuzz_seed_dir} --rnnc $<TARGET_FILE:rnnc>
                 --seeds-tool $<TARGET_FILE:rnnc-fuzz-seeds>)
set_tests_properties(fuzz_replay.seeds PROPERTIES FIXTURES_SETUP fuzz_seeds)
foreach(t ${RNNC_REPLAY_TARGETS})
  set_tests_properties(fuzz_replay.${t} PROPERTIES FIXTURES_REQUIRED fuzz_seeds)
endforeach()
