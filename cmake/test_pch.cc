// Compiled only to build the tests' shared precompiled header (CMakeLists.txt).
