// `actlab export RUN_DIR --pytorch model.py`: a short Python file defining the run's model as a
// torch.nn module built from standard layers, with the run's input preprocessing (a csv task's
// standardisation), that loads the run's model.safetensors (with safetensors.torch.load_file,
// or a plain-Python reader of the format when the package is missing).
#pragma once

#include <string>

#include "actlab/core/tensor.hpp"
#include "actlab/train/train.hpp"

namespace actlab {

// A model export cannot write: an activation or model without a torch.nn equivalent (a formula,
// one registered by a user or a plugin), named in the message.
class ExportError : public InputError {
 public:
  using InputError::InputError;
};

// The Python source for a trainer's model and data; `weights` is the model.safetensors path the
// docstring's example loads. Throws ExportError.
std::string pytorch_source(Trainer& trainer, const std::string& weights);

// For checking an export by hand: the test split's raw inputs (as the task's file holds them,
// before standardisation) and the model's outputs on them, as CSV: x columns, then out columns.
std::string test_outputs_csv(Trainer& trainer);

}  // namespace actlab
