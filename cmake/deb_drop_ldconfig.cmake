# Run by CPack after it has built the Debian packages
# (CPACK_POST_BUILD_SCRIPTS, cmake/packaging.cmake). CPack adds postinst and
# postrm scripts that only call ldconfig to every package holding a shared
# library under /usr/lib; Debian runs ldconfig through the dpkg trigger the
# runtime package declares instead, and lintian warns about the scripts
# (maintscript-calls-ldconfig). Each package whose maintainer scripts are
# nothing but that call is rebuilt without them; any other script is kept.
foreach(deb IN LISTS CPACK_PACKAGE_FILES)
  if(NOT deb MATCHES "\\.deb$")
    continue()
  endif()
  set(dir "${deb}.unpacked")
  file(REMOVE_RECURSE "${dir}")
  execute_process(COMMAND dpkg-deb -R "${deb}" "${dir}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dpkg-deb -R ${deb} failed")
  endif()
  set(changed FALSE)
  foreach(script postinst postrm)
    set(path "${dir}/DEBIAN/${script}")
    if(EXISTS "${path}")
      file(READ "${path}" body)
      string(REGEX REPLACE "#![^\n]*\n" "" rest "${body}")
      string(REGEX REPLACE "set -e\n|if \\[ \"\\$1\" = \"(configure|remove)\" \\]; then\n|[ \t]*ldconfig\n|fi\n|[ \t\n]" "" rest "${rest}")
      if(rest STREQUAL "")
        file(REMOVE "${path}")
        set(changed TRUE)
      endif()
    endif()
  endforeach()
  if(changed)
    execute_process(COMMAND dpkg-deb --root-owner-group -Zxz -b "${dir}" "${deb}"
                    RESULT_VARIABLE rc OUTPUT_QUIET)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "dpkg-deb -b ${deb} failed")
    endif()
  endif()
  file(REMOVE_RECURSE "${dir}")
endforeach()
