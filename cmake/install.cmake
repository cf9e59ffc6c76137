# Install rules (cmake --install BUILD --prefix P) and the Debian package (make package).
#   P/bin/hearth
#   P/share/doc/hearth/                 README, docs/*.md, the deploy/ examples
#   P/lib/systemd/system/hearth.service ExecStart pointing at P/bin/hearth
#   P/share/hearth/hearth.default       the options file the unit reads from /etc/default/hearth
#   P/share/bash-completion/completions/hearth
include(GNUInstallDirs)

install(TARGETS hearth RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(DIRECTORY deploy/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        PATTERN "*.bash-completion" EXCLUDE)
install(FILES deploy/hearth.default DESTINATION ${CMAKE_INSTALL_DATADIR}/hearth)
install(FILES deploy/hearth.bash-completion DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME hearth)
# The unit names the binary (and its docs) by absolute path; the prefix is only known at install time (cpack
# installs with its own), so the copy is written then.
install(CODE "
  set(unit_dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  file(READ \"${CMAKE_SOURCE_DIR}/deploy/hearth.service\" unit)
  string(REPLACE \"ExecStart=/usr/bin/hearth\" \"ExecStart=\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/hearth\" unit \"\${unit}\")
  string(REPLACE \"file:///usr/share/doc/hearth/\" \"file://\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}/\" unit \"\${unit}\")
  file(MAKE_DIRECTORY \"\${unit_dir}\")
  file(WRITE \"\${unit_dir}/hearth.service\" \"\${unit}\")
  message(STATUS \"Installing: \${unit_dir}/hearth.service\")
")

# make package -> build/hearth_<version>_amd64.deb. Depends: the shared libraries the binary
# links, found by dpkg-shlibdeps (from dpkg-dev, which build-essential brings).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hearth)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "hearth maintainers <hearth@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "private, local LLM runtime (GGUF models; OpenAI- and Ollama-compatible server)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${CMAKE_SOURCE_DIR}/cmake/deb/postinst;${CMAKE_SOURCE_DIR}/cmake/deb/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
