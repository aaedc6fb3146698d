# CPACK_PROJECT_CONFIG_FILE: read by cpack once per generator.
if(CPACK_GENERATOR STREQUAL "TGZ")
  # The tarball holds a root-relative tree (usr/..., etc/keyturn, lib/systemd/system)
  # that installers/linux/install.sh places under --root and --prefix.
  set(CPACK_SET_DESTDIR ON)
  set(CPACK_INSTALL_PREFIX /usr)
endif()
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Keyturn: multi-admin approval for endpoint management")
endif()
