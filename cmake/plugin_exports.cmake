# cmake -DNM=nm -DOUT=file -DEXTERNS=file -DPLUGINS="a.so;b.so" -P plugin_exports.cmake
# For the static keyturn-agent (KEYTURN_STATIC_AGENT), from every symbol its plugins leave
# undefined, writes
#  - OUT, the linker dynamic list: the agent exports exactly those of them it defines —
#    the Poco, OpenSSL and libstdc++ functions, objects and type information the plugins
#    use — so a plugin binds to the agent's one copy of each; names the agent does not
#    define (libc, libgcc_s) are ignored by the linker;
#  - EXTERNS, a linker script of EXTERN() lines for the strong ones, so the agent's link
#    pulls them from the static archives even where the agent itself does not call them.
# Regenerated whenever a plugin is rebuilt; a file whose text is unchanged is not touched.
set(symbols)
set(strong)
foreach(plugin IN LISTS PLUGINS)
  execute_process(COMMAND ${NM} -D --undefined-only --format=posix ${plugin}
    OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${plugin}")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  foreach(line IN LISTS lines)
    # "name[@version] U" or "name w": keep the name without its version.
    if(line MATCHES "^([^ @]+)[^ ]* ([A-Za-z])")
      list(APPEND symbols ${CMAKE_MATCH_1})
      if(CMAKE_MATCH_2 STREQUAL "U")
        list(APPEND strong ${CMAKE_MATCH_1})
      endif()
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES symbols)
list(SORT symbols)
list(REMOVE_DUPLICATES strong)
list(SORT strong)

function(write_if_changed file text)
  set(old "")
  if(EXISTS ${file})
    file(READ ${file} old)
  endif()
  if(NOT "${old}" STREQUAL "${text}")
    file(WRITE ${file} "${text}")
  endif()
endfunction()

set(text "{\n")
foreach(s IN LISTS symbols)
  string(APPEND text "  ${s};\n")
endforeach()
string(APPEND text "};\n")
write_if_changed(${OUT} "${text}")
set(text "")
foreach(s IN LISTS strong)
  string(APPEND text "EXTERN(${s})\n")
endforeach()
write_if_changed(${EXTERNS} "${text}")
