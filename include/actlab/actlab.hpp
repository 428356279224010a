// The umbrella header: everything actlab offers.
#pragma once

#include "actlab/autograd.hpp"
#include "actlab/data.hpp"
#include "actlab/gradcheck.hpp"
#include "actlab/loss.hpp"
#include "actlab/memory.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/init.hpp"
#include "actlab/nn/linear.hpp"
#include "actlab/nn/module.hpp"
#include "actlab/nn/sequential.hpp"
#include "actlab/ops.hpp"
#include "actlab/optim.hpp"
#include "actlab/report.hpp"
#include "actlab/serialize.hpp"
#include "actlab/tensor.hpp"
