# Run at every build (cmake -P): writes version.cpp with the project version and the git commit
# the binary is built from. configure_file rewrites it only when a value changed, so an
# unchanged tree recompiles nothing.
#   -DSOURCE_DIR=... -DIN=version.cpp.in -DOUT=... -DVERSION=x.y.z [-DCOMMIT=hash (no git, e.g. a container build)]
if(NOT COMMIT)
  execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR COMMIT STREQUAL "")
    set(COMMIT "unknown")
  else()
    # Tracked files changed since the commit: say so, the hash alone would be a lie.
    execute_process(COMMAND git -C "${SOURCE_DIR}" diff-index --quiet HEAD --
                    RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      string(APPEND COMMIT "-dirty")
    endif()
  endif()
endif()
configure_file("${IN}" "${OUT}" @ONLY)
