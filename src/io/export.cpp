// Writing a run's model as a PyTorch module: the torch.nn layer of each actlab activation, the
// module of each model kind (whose state_dict() names are actlab's parameter names), the input
// preprocessing, and a loader of model.safetensors.
#include "actlab/io/export.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "actlab/nn/activation.hpp"
#include "actlab/nn/ffn.hpp"
#include "actlab/train/csv_task.hpp"

namespace actlab {
namespace {

using nlohmann::json;

// A number as Python reads it back to the same double.
std::string py(double v) { return fmt::format("{}", v); }
std::string py(const json& v) { return v.is_number_integer() ? v.dump() : py(v.get<double>()); }

std::string py_list(const std::vector<float>& values) {
  std::vector<std::string> items;
  for (float v : values) items.push_back(fmt::format("{}", v));  // float32's shortest repr
  return fmt::format("[{}]", fmt::join(items, ", "));
}

std::string py_strings(const std::vector<std::string>& values) {
  std::vector<std::string> items;
  for (const std::string& v : values) items.push_back(json(v).dump());  // a valid Python literal
  return fmt::format("[{}]", fmt::join(items, ", "));
}

// The torch.nn module of an activation spec, as Python source: its registry entry's
// torch_module with the resolved spec's values put in ("nn.LeakyReLU(negative_slope=0.2)").
std::string torch_activation(const json& spec) {
  if (spec.is_object() && spec.contains("formula"))
    throw ExportError(fmt::format("the activation is a formula ({}), which torch.nn has no layer "
                                  "for; export writes models of built-in activations only",
                                  spec["formula"].dump()));
  const json r = nn::resolve_activation(spec);
  const std::string name = r.at("name");
  std::string source = nn::activation_info(name).torch_module;
  if (source.empty())
    throw ExportError(fmt::format("the activation \"{}\" has no torch.nn equivalent that export "
                                  "knows (its registry entry gives no torch_module)",
                                  name));
  for (const auto& [field, value] : r.items()) {
    const std::string placeholder = "{" + field + "}";
    for (size_t at; (at = source.find(placeholder)) != std::string::npos;)
      source.replace(at, placeholder.size(), value.is_string() ? value.dump() : py(value));
  }
  return source;
}

std::string indent(const std::vector<std::string>& lines, const char* prefix) {
  std::string out;
  for (const std::string& line : lines) out += prefix + line + "\n";
  return out;
}

// An MLP: nn.Sequential of Linear, activation [and Dropout] per hidden width, then a Linear,
// indexed as actlab's MLP names its children.
std::string mlp_source(const ModelConfig& m, int64_t in, int64_t out) {
  const std::string act = torch_activation(m.activation);
  std::vector<std::string> layers;
  int64_t width = in;
  for (int64_t h : m.hidden) {
    layers.push_back(fmt::format("nn.Linear({}, {}),", width, h));
    layers.push_back(act + ",");
    if (m.dropout > 0.f) layers.push_back(fmt::format("nn.Dropout({}),", py(m.dropout)));
    width = h;
  }
  layers.push_back(fmt::format("nn.Linear({}, {}),", width, out));
  return fmt::format(R"(def network():
    """The network; its state_dict() has the names and shapes of model.safetensors."""
    return nn.Sequential(
{}    )
)",
                     indent(layers, "        "));
}

// actlab's "ffn" model: a Linear to d_model, residual blocks h + block(h) (dropout, if any, is
// off in eval mode), a Linear head.
std::string ffn_source(const ModelConfig& m, int64_t in, int64_t out) {
  const bool gated = m.block == "gated";
  std::string block;
  std::string act;
  if (gated) {
    act = torch_activation(m.activation.is_string()
                               ? json(nn::gate_activation_for(m.activation.get<std::string>()))
                               : m.activation);
    block = R"(class GatedFeedForward(nn.Module):
    """down(act(gate(x)) * up(x)): the activation on gate, as actlab's GatedFeedForward."""

    def __init__(self, d_model, d_ff, act):
        super().__init__()
        self.gate = nn.Linear(d_model, d_ff, bias=False)
        self.up = nn.Linear(d_model, d_ff, bias=False)
        self.down = nn.Linear(d_ff, d_model, bias=False)
        self.act = act

    def forward(self, x):
        return self.down(self.act(self.gate(x)) * self.up(x))
)";
  } else {
    act = torch_activation(m.activation);
    block = R"(class FeedForward(nn.Module):
    """down(act(up(x))), as actlab's FeedForward."""

    def __init__(self, d_model, d_ff, act):
        super().__init__()
        self.up = nn.Linear(d_model, d_ff)
        self.act = act
        self.down = nn.Linear(d_ff, d_model)

    def forward(self, x):
        return self.down(self.act(self.up(x)))
)";
  }
  return block + fmt::format(R"(

class ResidualFFN(nn.Module):
    """A Linear to d_model, blocks h + block(h), a Linear head: actlab's model "ffn"."""

    def __init__(self):
        super().__init__()
        # "in" is a Python keyword, but it is the layer's name in actlab and in the weights.
        self.add_module("in", nn.Linear({in}, {d_model}))
        self.blocks = nn.ModuleList(
            {block}({d_model}, {d_ff}, {act}) for _ in range({blocks})
        )
        self.out = nn.Linear({d_model}, {out})

    def forward(self, x):
        h = getattr(self, "in")(x)
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


def network():
    """The network; its state_dict() has the names and shapes of model.safetensors."""
    return ResidualFFN()
)",
                             fmt::arg("in", in), fmt::arg("d_model", m.d_model),
                             fmt::arg("d_ff", m.d_ff), fmt::arg("blocks", m.blocks),
                             fmt::arg("block", gated ? "GatedFeedForward" : "FeedForward"),
                             fmt::arg("act", act), fmt::arg("out", out));
}

// "MLP 4-32-32-3, gelu" or "FFN of 2 gated blocks (d_model 32, d_ff 24), swiglu".
std::string model_text(const ModelConfig& m, int64_t in, int64_t out) {
  const std::string act = m.activation.is_string() ? m.activation.get<std::string>()
                                                   : m.activation.value("name", "custom");
  if (m.kind == "mlp") {
    std::vector<int64_t> widths{in};
    widths.insert(widths.end(), m.hidden.begin(), m.hidden.end());
    widths.push_back(out);
    return fmt::format("an MLP {}, {}", fmt::join(widths, "-"), act);
  }
  return fmt::format("an FFN of {} {} blocks (d_model {}, d_ff {}), {}", m.blocks, m.block,
                     m.d_model, m.d_ff, act);
}

// The outputs of the head: its bias's length.
int64_t output_width(Trainer& trainer) {
  return trainer.model().named_parameters().back().second.size(0);
}

std::string network_source(Trainer& trainer) {
  const ModelConfig& m = trainer.config().model;
  const int64_t in = trainer.dataset().input_dim;
  const int64_t out = output_width(trainer);
  if (m.kind == "mlp") return mlp_source(m, in, out);
  if (m.kind == "ffn") return ffn_source(m, in, out);
  throw ExportError(fmt::format("a model of kind \"{}\" cannot be exported yet (export writes "
                                "\"mlp\" and \"ffn\" models)",
                                m.kind));
}

std::string outputs_text(const Config& config, const data::Dataset& d) {
  if (config.loss.name == "bce_with_logits")
    return fmt::format("one logit: P({}) = sigmoid(output)",
                       d.class_names.empty() ? "class 1" : json(d.class_names.back()).dump());
  if (config.loss.name == "cross_entropy") return "one logit per class, softmax for probabilities";
  return d.kind == data::TaskKind::regression ? "the predicted values" : "a score per class";
}

}  // namespace

std::string pytorch_source(Trainer& trainer, const std::string& weights) {
  const data::Dataset& d = trainer.dataset();
  const Config& config = trainer.config();
  const bool standardised = !d.input_mean.empty();
  std::string constants;
  if (!d.feature_names.empty())
    constants += fmt::format("FEATURES = {}  # the input columns, in order\n",
                             py_strings(d.feature_names));
  if (!d.class_names.empty())
    constants += fmt::format("CLASSES = {}  # label k is CLASSES[k]\n", py_strings(d.class_names));
  if (standardised)
    constants += fmt::format(
        "# Inputs are standardised as in training: (x - MEAN) / SCALE, the training split's\n"
        "# mean and population std of each column.\nMEAN = {}\nSCALE = {}\n",
        py_list(d.input_mean), py_list(d.input_scale));
  const std::string preprocess =
      standardised ? R"(        self.register_buffer("mean", torch.tensor(MEAN), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE), persistent=False)
)"
                   : "";
  const std::string forward = standardised ? "self.network((x - self.mean) / self.scale)"
                                           : "self.network(x)";
  const std::string task = config.task.value("path", config.task.value("name", std::string()));
  return fmt::format(R"("""The model of an actlab run, as a torch.nn module: {model}, trained on {task}.

Written by `actlab export`. It takes raw inputs, as the task's data holds them, [batch, {in}],
and returns {outputs}.

    from model import load
    model = load("{weights}")
    outputs = model(torch.tensor(rows, dtype=torch.float32))
"""
import json
import struct

import torch
from torch import nn

{constants}

{network}

class Model(nn.Module):
    """The network with the run's input preprocessing in front of it."""

    def __init__(self):
        super().__init__()
        self.network = network()
{preprocess}
    def forward(self, x):
        return {forward}


def read_safetensors(path):
    """The float32 tensors of a safetensors file, read without the safetensors package: an
    8-byte little-endian header length, a JSON header, then the raw little-endian data."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {{}}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", (name, entry["dtype"])
        begin, end = entry["data_offsets"]
        values = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32)
        tensors[name] = values.reshape(entry["shape"])
    return tensors


def load(path="{weights}"):
    try:
        from safetensors.torch import load_file
    except ImportError:
        load_file = read_safetensors
    model = Model()
    model.network.load_state_dict(load_file(path))
    return model.eval()
)",
                     fmt::arg("model", model_text(config.model, d.input_dim, output_width(trainer))),
                     fmt::arg("task", task), fmt::arg("in", d.input_dim),
                     fmt::arg("outputs", outputs_text(config, d)), fmt::arg("weights", weights),
                     fmt::arg("constants", constants), fmt::arg("network", network_source(trainer)),
                     fmt::arg("preprocess", preprocess), fmt::arg("forward", forward));
}

std::string test_outputs_csv(Trainer& trainer) {
  const data::Dataset& d = trainer.dataset();
  const Tensor raw = d.name == "csv" ? data::read_csv_task(d.spec).x_test : d.x_test;
  const Tensor out = trainer.predict(d.x_test);
  const int64_t rows = raw.size(0), in = raw.size(1), outs = out.numel() / rows;
  std::vector<std::string> header;
  for (int64_t c = 0; c < in; ++c) header.push_back(fmt::format("x{}", c));
  for (int64_t c = 0; c < outs; ++c) header.push_back(fmt::format("out{}", c));
  std::string csv = fmt::format("{}\n", fmt::join(header, ","));
  const float* x = raw.data();
  const float* y = out.data();
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<float> row(x + r * in, x + (r + 1) * in);
    row.insert(row.end(), y + r * outs, y + (r + 1) * outs);
    csv += fmt::format("{}\n", fmt::join(row, ","));
  }
  return csv;
}

}  // namespace actlab
