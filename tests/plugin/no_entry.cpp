// A library that links actlab but forgot ACTLAB_PLUGIN: it has no entry point.
#include <actlab/actlab.hpp>

void register_nothing() {}
