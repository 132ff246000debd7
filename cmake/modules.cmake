# still_module(NAME [PUBLIC mod...] [PRIVATE mod...]) makes the static library still_NAME from
# src/still/NAME/**.cpp. A module sees only its own headers and those of the modules it names
# (and what they name PUBLIC): each module's headers are reachable through its own include
# view, build/include_views/NAME/still/NAME -> src/still/NAME, never through src/, so including
# a module not named fails to compile. PUBLIC is for modules the headers include, PRIVATE for
# those only the sources include. scripts/check_layers.sh checks the same lists against the
# includes and that they form no cycle (the check_layers test).

set(STILL_VIEWS_DIR ${PROJECT_BINARY_DIR}/include_views)

# Lets `target` include "still/NAME/...".
function(still_include_view target name scope)
  set(view ${STILL_VIEWS_DIR}/${name})
  file(MAKE_DIRECTORY ${view}/still)
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/still/${name} ${view}/still/${name} SYMBOLIC)
  target_include_directories(${target} ${scope} ${view})
endfunction()

function(still_record_layer name public private)
  list(JOIN public " " public)
  list(JOIN private " " private)
  set_property(GLOBAL APPEND PROPERTY STILL_LAYERS "${name}:${public}:${private}")
endfunction()

function(still_module name)
  cmake_parse_arguments(PARSE_ARGV 1 M "" "" "PUBLIC;PRIVATE")
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/still/${name}/*.cpp)
  add_library(still_${name} STATIC ${sources})
  still_include_view(still_${name} ${name} PUBLIC)
  list(TRANSFORM M_PUBLIC PREPEND still_ OUTPUT_VARIABLE public)
  list(TRANSFORM M_PRIVATE PREPEND still_ OUTPUT_VARIABLE private)
  target_link_libraries(still_${name} PUBLIC still_deps ${public} PRIVATE ${private})
  set_property(GLOBAL APPEND PROPERTY STILL_MODULE_TARGETS still_${name})
  still_record_layer(${name} "${M_PUBLIC}" "${M_PRIVATE}")
endfunction()

# An executable made from module NAME's sources (the CLI), linking the modules in DEPS.
function(still_front_end target name)
  cmake_parse_arguments(PARSE_ARGV 2 M "" "" "DEPS")
  still_include_view(${target} ${name} PRIVATE)
  list(TRANSFORM M_DEPS PREPEND still_ OUTPUT_VARIABLE deps)
  target_link_libraries(${target} PRIVATE still_deps ${deps})
  still_record_layer(${name} "${M_DEPS}" "")  # nothing includes an executable's headers
endfunction()

# One line per module, "name:public deps:private deps" (space-separated), for check_layers.sh.
function(still_write_layers file)
  get_property(layers GLOBAL PROPERTY STILL_LAYERS)
  list(JOIN layers "\n" text)
  file(WRITE ${file} "${text}\n")
endfunction()
