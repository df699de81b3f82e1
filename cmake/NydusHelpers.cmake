# nydus_library(NAME <component> [DEPS <nydus components>] [EXTERNAL <targets>])
#
# Builds src/<component>/*.cc (except *_test.cc and *_fuzz.cc) into the static library
# nydus_<component>. DEPS may name only components listed in ALLOWED_DEPS_<component> in
# src/CMakeLists.txt: this is how the one-way dependency rule is enforced.
# Unit tests (*_test.cc) become one binary nydus_<component>_test registered with CTest.
include(GoogleTest)

function(nydus_library)
  cmake_parse_arguments(ARG "" "NAME" "DEPS;EXTERNAL" ${ARGN})
  set(name ${ARG_NAME})
  foreach(dep ${ARG_DEPS})
    list(FIND NYDUS_ALLOWED_DEPS_${name} ${dep} idx)
    if(idx EQUAL -1)
      message(FATAL_ERROR "component '${name}' may not depend on '${dep}' "
                          "(allowed: ${NYDUS_ALLOWED_DEPS_${name}})")
    endif()
  endforeach()
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "_(test|fuzz)\\.cc$")
  set(link)
  foreach(dep ${ARG_DEPS})
    list(APPEND link nydus_${dep})
  endforeach()
  if(srcs)
    add_library(nydus_${name} STATIC ${srcs})
    target_include_directories(nydus_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(nydus_${name} PUBLIC ${link} ${ARG_EXTERNAL})
  else()  # header-only so far
    add_library(nydus_${name} INTERFACE)
    target_include_directories(nydus_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(nydus_${name} INTERFACE ${link} ${ARG_EXTERNAL})
  endif()
  if(NYDUS_BUILD_TESTS)
    file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
    if(tests)
      add_executable(nydus_${name}_test ${tests})
      target_link_libraries(nydus_${name}_test PRIVATE nydus_${name} nydus_testing
                            GTest::gtest GTest::gtest_main GTest::gmock)
      target_compile_definitions(nydus_${name}_test PRIVATE
        NYDUS_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/../shared/fixtures/nydus"
        NYDUS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
      # One CTest test per GoogleTest case, so the summary counts real tests.
      gtest_discover_tests(nydus_${name}_test TEST_PREFIX "${name}." DISCOVERY_MODE PRE_TEST
                           PROPERTIES LABELS unit)
    endif()
  endif()
endfunction()
