# Finds OpenBLAS's OpenMP build as the imported target PkgConfig::OPENBLAS_OPENMP, and OpenMP.
# Matrix products (OpenBLAS) and actlab's own large loops then run on one OpenMP thread pool:
# OpenBLAS's pthread build keeps a second pool, and two pools that spin-wait on the same cores
# slow each other down many times (bench/RESULTS.md). Debian installs each OpenBLAS build in
# its own directory (libopenblas-openmp-dev: <libdir>/openblas-openmp/), while the plain
# openblas.pc follows update-alternatives, which prefers the pthread build; so the OpenMP
# build's directory is searched first. Used by the build and by the installed actlabConfig.
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(PkgConfig REQUIRED)
set(_actlab_saved_pkg_config_path "$ENV{PKG_CONFIG_PATH}")
set(ENV{PKG_CONFIG_PATH}
    "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp/pkgconfig:$ENV{PKG_CONFIG_PATH}")
pkg_check_modules(OPENBLAS_OPENMP REQUIRED IMPORTED_TARGET openblas)
pkg_get_variable(_actlab_openblas_config openblas openblas_config)
set(ENV{PKG_CONFIG_PATH} "${_actlab_saved_pkg_config_path}")
if(NOT _actlab_openblas_config MATCHES "USE_OPENMP=1")
  message(FATAL_ERROR
    "actlab needs OpenBLAS's OpenMP build (Debian: apt-get install libopenblas-openmp-dev); "
    "the openblas found in ${OPENBLAS_OPENMP_LIBDIR} is another build (${_actlab_openblas_config})")
endif()
