# rnnc_add_model: compiles an rnnc model ahead of time into a static library target, in the spirit of
# Halide's add_halide_library.
#
#   rnnc_add_model(<name>
#                  MODEL <zoo-model> | GENERATOR <source.cpp>…
#                  [MODE infer|train]            # default infer
#                  [TARGETS <halide-target>…]    # default host; tried in order on the running CPU
#                  [OPTIONS <rnnc flags>…]       # e.g. --hidden 128 --layers 2 (zoo models)
#                  [EMIT <kind>…])               # ir stmt html asm llvm obj header
#
# A GENERATOR source defines `rnnc::ir::Module rnnc_model()` with the DSL; it is built into a small
# program that compiles the model at build time. The result is a library target <name> to link, whose
# header <name>.h declares rnnc_models::<name>::load().
function(rnnc_add_model NAME)
  cmake_parse_arguments(ARG "" "MODEL;MODE" "GENERATOR;TARGETS;OPTIONS;EMIT" ${ARGN})
  if(NOT ARG_MODEL AND NOT ARG_GENERATOR)
    message(FATAL_ERROR "rnnc_add_model(${NAME}): give MODEL <zoo-model> or GENERATOR <source.cpp>")
  endif()
  if(NOT ARG_MODE)
    set(ARG_MODE infer)
  endif()
  if(NOT ARG_TARGETS)
    set(ARG_TARGETS host)
  endif()
  string(REPLACE ";" "," targets "${ARG_TARGETS}")
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.rnnc)
  set(extra)
  if(ARG_EMIT)
    string(REPLACE ";" "," emit "${ARG_EMIT}")
    set(extra --emit ${emit})
  endif()
  if(ARG_GENERATOR)
    add_executable(${NAME}.generator ${ARG_GENERATOR})
    target_link_libraries(${NAME}.generator PRIVATE rnnc_generator_main)
    set(command $<TARGET_FILE:${NAME}.generator>)
    set(depends ${NAME}.generator)
  else()
    set(command $<TARGET_FILE:rnnc> compile ${ARG_MODEL})
    set(depends rnnc)
  endif()
  # Compiled kernels are cached (codegen/kernel_cache.h): in RNNC_KERNEL_CACHE_DIR when the project
  # sets it, else the user's ~/.cache/rnnc.
  set(env)
  if(RNNC_KERNEL_CACHE_DIR)
    set(env ${CMAKE_COMMAND} -E env RNNC_CACHE_DIR=${RNNC_KERNEL_CACHE_DIR})
  endif()
  add_custom_command(
    OUTPUT ${dir}/lib${NAME}.a ${dir}/${NAME}.h
    COMMAND ${env} ${command} --name ${NAME} --mode ${ARG_MODE} --target ${targets} --output ${dir} ${ARG_OPTIONS} ${extra}
    DEPENDS ${depends}
    COMMENT "rnnc: compiling model ${NAME} (${ARG_MODE}) for ${targets}"
    VERBATIM)
  add_custom_target(${NAME}.rnnc DEPENDS ${dir}/lib${NAME}.a ${dir}/${NAME}.h)
  add_library(${NAME} STATIC IMPORTED GLOBAL)
  file(MAKE_DIRECTORY ${dir})
  set_target_properties(${NAME} PROPERTIES IMPORTED_LOCATION ${dir}/lib${NAME}.a INTERFACE_INCLUDE_DIRECTORIES ${dir})
  target_link_libraries(${NAME} INTERFACE rnnc_runtime_compiled Threads::Threads ${CMAKE_DL_LIBS})
  add_dependencies(${NAME} ${NAME}.rnnc)
endfunction()
