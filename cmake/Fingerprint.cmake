# Writes OUT, a header defining RNNC_CODEGEN_FINGERPRINT: one SHA-256 over the files listed in FILES
# (';'-separated), the sources that decide what a plan's kernels compile to. The JIT cache keys on it
# (codegen/jit.cpp). The header is rewritten only when the value changes.
set(digests "")
list(SORT FILES)
foreach(f IN LISTS FILES)
  file(SHA256 "${f}" d)
  get_filename_component(name "${f}" NAME)
  string(APPEND digests "${name} ${d}\n")
endforeach()
string(SHA256 fingerprint "${digests}")
string(SUBSTRING "${fingerprint}" 0 16 fingerprint)
set(text "#pragma once\n#define RNNC_CODEGEN_FINGERPRINT \"${fingerprint}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
