# Precompiled headers for the whole tree: Boost.Graph (every file that sees ir/function.h, about 90 of
# 150) and GoogleTest (every test) take 2-3 s each to parse, in each of CI's two trees (Release and
# sanitized). Two headers are precompiled once, each with the standard library, and reused by every
# target: rnnc_pch for the libraries and tools, rnnc_test_pch (the same plus GoogleTest) for whatever
# links GoogleTest. Measured on 2 cores (2026-12-07): the Release tree's C++ compiles 713 -> 579 s of
# CPU (build 548 -> 459 s); the sanitized tree's 836 -> 778 s (ASan's code generation dominates there).
#
# A reused header must be compiled with the target's flags: targets with compile definitions of their
# own (ONNX's protobuf settings, a source path) compile their headers as before. RNNC_PCH=OFF turns it
# all off, to check that every file still includes what it uses.
option(RNNC_PCH "Precompile Boost.Graph, GoogleTest and the standard library once for every target" ON)

set(rnnc_pch_headers
    <algorithm> <cstdint> <functional> <map> <memory> <optional> <set> <sstream> <string> <unordered_map>
    <variant> <vector> <boost/graph/adjacency_list.hpp>)

# Attaches the shared headers to every C++ target defined under `dir` (called last, on the top folder).
function(rnnc_precompile_headers dir)
  if(NOT RNNC_PCH)
    return()
  endif()
  # A header is reused only under the macros it was compiled with (GCC ignores it otherwise, clang
  # fails). Boost's targets define macros that only steer MSVC's auto-linking (BOOST_ALL_NO_LIB,
  # BOOST_GRAPH_DYN_LINK, BOOST_REGEX_DYN_LINK), a different set for each target depending on what it
  # links: they are dropped, so that every target compiles under the same ones.
  foreach(boost_target Boost::graph Boost::regex Boost::headers Boost::boost)
    if(TARGET ${boost_target})
      set_property(TARGET ${boost_target} PROPERTY INTERFACE_COMPILE_DEFINITIONS "")
    endif()
  endforeach()
  set(empty ${CMAKE_BINARY_DIR}/rnnc_pch.cpp)
  file(WRITE ${empty} "// The translation unit the shared precompiled headers are built for.\n")
  add_library(rnnc_pch OBJECT ${empty})
  target_link_libraries(rnnc_pch PRIVATE Boost::graph)
  target_precompile_headers(rnnc_pch PRIVATE ${rnnc_pch_headers})
  if(RNNC_BUILD_TESTS)
    find_package(GTest REQUIRED)  # its imported targets are scoped to tests/
    add_library(rnnc_test_pch OBJECT ${empty})
    target_link_libraries(rnnc_test_pch PRIVATE Boost::graph GTest::gtest)
    target_precompile_headers(rnnc_test_pch PRIVATE ${rnnc_pch_headers} <gtest/gtest.h>)
  endif()

  rnnc_targets_under(${dir} targets)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    get_target_property(imported ${t} IMPORTED)
    get_target_property(defs ${t} COMPILE_DEFINITIONS)
    if(imported OR NOT type MATCHES "^(STATIC_LIBRARY|EXECUTABLE|OBJECT_LIBRARY)$" OR defs OR t MATCHES "^rnnc_(test_)?pch$")
      continue()
    endif()
    get_target_property(libs ${t} LINK_LIBRARIES)
    if(TARGET rnnc_test_pch AND "GTest::gtest" IN_LIST libs)
      target_precompile_headers(${t} REUSE_FROM rnnc_test_pch)
    else()
      target_precompile_headers(${t} REUSE_FROM rnnc_pch)
    endif()
  endforeach()
endfunction()

function(rnnc_targets_under dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    rnnc_targets_under(${sub} more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()
