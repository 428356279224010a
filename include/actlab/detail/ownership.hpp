// Whether a tensor is the only handle to its values: no other tensor, view or saved copy shares
// its storage, so that a backward may write over it (GradSink::target_reusing's test, and
// linear_activation's for its dz).
#pragma once

#include "actlab/core/tensor.hpp"

namespace actlab::detail {

bool uniquely_owned(const Tensor& t);

}  // namespace actlab::detail
