// The synthetic tasks: each is a table row (name, kind, fields with defaults, shapes, sampler)
// so that validation, defaults, docs and generation all read the same rules. Then the
// mini-batch iterator.
#include "actlab/train/data.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <numeric>

#include "actlab/detail/fields.hpp"
#include "actlab/detail/suggest.hpp"
#include "actlab/ops/loss.hpp"
#include "actlab/train/csv_task.hpp"
#include "actlab/train/sequence_tasks.hpp"

namespace actlab::data {

namespace {

using detail::FieldPath;
using detail::NumberField;
using nlohmann::json;

constexpr float kPi = std::numbers::pi_v<float>;

// One seed, three independent streams: the task's own parameters (blob centres, teacher
// weights), which train and test share, and each split's examples.
constexpr uint64_t kParameterStream = 0;
constexpr uint64_t kTrainStream = 1;
constexpr uint64_t kTestStream = 2;

struct Dims {
  int64_t input, output, classes;
};

// Fills one split: x [n, input], y [n] for classes or [n, output] for regression.
using Sampler = void (*)(const json& p, Generator& gen, int64_t n, float* x, float* y);

struct TaskDef {
  std::string name;
  TaskKind kind;
  std::string description;
  std::vector<NumberField> fields;  // besides n_train, n_test and seed
  Dims (*dims)(const json& p);
  Sampler sample;
};

float real(const json& p, const char* field) { return p.at(field).get<float>(); }
int64_t whole(const json& p, const char* field) { return p.at(field).get<int64_t>(); }
Generator parameter_generator(const json& p) {
  return Generator(p.at("seed").get<uint64_t>(), kParameterStream);
}

// ---- field rules ---------------------------------------------------------------------------

// Upper bounds on the fields that size a tensor: far beyond any toy task, they stop a typo
// (an extra few zeros) before it reaches the allocator.
constexpr double kMaxExamples = 1e6;
constexpr double kMaxWidth = 4096;
constexpr double kMaxClasses = 1024;
constexpr double kUnbounded = std::numeric_limits<double>::infinity();

NumberField count(std::string name, double fallback, double lo, double hi, std::string help) {
  return {.name = std::move(name), .integer = true, .fallback = fallback, .lo = lo, .hi = hi,
          .help = std::move(help)};
}

NumberField positive(std::string name, double fallback, std::string help) {
  return {.name = std::move(name), .fallback = fallback, .lo = 0, .lo_open = true,
          .help = std::move(help)};
}

NumberField noise(std::string help) {
  return {.name = "noise", .fallback = 0.1, .lo = 0, .help = std::move(help)};
}

const std::vector<NumberField>& common_fields() {
  static const std::vector<NumberField> fields{
      count("n_train", 1000, 1, kMaxExamples, "training examples"),
      count("n_test", 500, 1, kMaxExamples, "test examples"),
      {.name = "seed", .integer = true, .fallback = 0, .lo = 0,
       .help = "seeds the task's parameters and both splits"},
  };
  return fields;
}

// ---- samplers ------------------------------------------------------------------------------

void put_point(float* x, int64_t i, float a, float b) {
  x[2 * i] = a;
  x[2 * i + 1] = b;
}

// Classes are balanced by construction: example i belongs to class i mod k.

void sample_xor(const json& p, Generator& gen, int64_t n, float* x, float* y) {
  const float noise = real(p, "noise");
  for (int64_t i = 0; i < n; ++i) {
    const float s0 = (i & 1) ? 1.f : -1.f, s1 = (i & 2) ? 1.f : -1.f;  // corner i mod 4
    put_point(x, i, s0 + noise * gen.normal(), s1 + noise * gen.normal());
    y[i] = s0 != s1 ? 1.f : 0.f;
  }
}

// sklearn.datasets.make_moons's geometry, with the angle drawn rather than evenly spaced: the
// upper moon (cos t, sin t) and the lower one (1 - cos t, 1/2 - sin t) for t in [0, pi].
void sample_moons(const json& p, Generator& gen, int64_t n, float* x, float* y) {
  const float noise = real(p, "noise");
  for (int64_t i = 0; i < n; ++i) {
    const bool lower = i % 2 == 1;
    const float t = kPi * gen.uniform();
    const float a = lower ? 1.f - std::cos(t) : std::cos(t);
    const float b = lower ? 0.5f - std::sin(t) : std::sin(t);
    put_point(x, i, a + noise * gen.normal(), b + noise * gen.normal());
    y[i] = lower ? 1.f : 0.f;
  }
}

// sklearn.datasets.make_circles's geometry: class 0 on the unit circle, class 1 on the circle
// of radius `factor`.
void sample_circles(const json& p, Generator& gen, int64_t n, float* x, float* y) {
  const float noise = real(p, "noise"), factor = real(p, "factor");
  for (int64_t i = 0; i < n; ++i) {
    const bool inner = i % 2 == 1;
    const float radius = inner ? factor : 1.f;
    const float t = 2.f * kPi * gen.uniform();
    put_point(x, i, radius * std::cos(t) + noise * gen.normal(),
              radius * std::sin(t) + noise * gen.normal());
    y[i] = inner ? 1.f : 0.f;
  }
}

// Arm j at position s in [0, 1): radius s, angle 2 pi (j / arms + turns s). The arms meet at
// the origin, so the centre stays ambiguous, as in the classic two-spirals problem.
void sample_spirals(const json& p, Generator& gen, int64_t n, float* x, float* y) {
  const float noise = real(p, "noise"), turns = real(p, "turns");
  const int64_t arms = whole(p, "arms");
  for (int64_t i = 0; i < n; ++i) {
    const int64_t arm = i % arms;
    const float s = gen.uniform();
    const float angle =
        2.f * kPi * (static_cast<float>(arm) / static_cast<float>(arms) + turns * s);
    put_point(x, i, s * std::cos(angle) + noise * gen.normal(),
              s * std::sin(angle) + noise * gen.normal());
    y[i] = static_cast<float>(arm);
  }
}

void sample_checkerboard(const json& p, Generator& gen, int64_t n, float* x, float* y) {
  const int64_t cells = whole(p, "cells");
  auto cell = [cells](float v) {
    return std::min(static_cast<int64_t>((v + 1.f) / 2.f * cells), cells - 1);
  };
  for (int64_t i = 0; i < n; ++i) {
    const float a = gen.uniform(-1.f, 1.f), b = gen.uniform(-1.f, 1.f);
    put_point(x, i, a, b);
    y[i] = static_cast<float>((cell(a) + cell(b)) % 2);
  }
}

void sample_blobs(const json& p, Generator& gen, int64_t n, float* x, float* y) {
  const int64_t classes = whole(p, "classes"), dims = whole(p, "dims");
  const float spread = real(p, "spread");
  Generator parameters = parameter_generator(p);
  std::vector<float> centres(static_cast<size_t>(classes * dims));  // [classes, dims]
  for (float& c : centres) c = parameters.uniform(-2.f, 2.f);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = i % classes;
    for (int64_t d = 0; d < dims; ++d)
      x[i * dims + d] = centres[static_cast<size_t>(k * dims + d)] + spread * gen.normal();
    y[i] = static_cast<float>(k);
  }
}

void sample_sine(const json& p, Generator& gen, int64_t n, float* x, float* y) {
  const float noise = real(p, "noise"), frequency = real(p, "frequency");
  for (int64_t i = 0; i < n; ++i) {
    x[i] = gen.uniform(-kPi, kPi);
    y[i] = std::sin(frequency * x[i]) + noise * gen.normal();
  }
}

// The teacher: y = W2 tanh(W1 x + b1) + noise, with W1 [hidden, dims] ~ N(0, 1/dims),
// b1 ~ N(0, 1) and W2 [outputs, hidden] ~ N(0, 1/hidden), so that pre-activations and outputs
// stay of order one whatever the widths.
void sample_teacher(const json& p, Generator& gen, int64_t n, float* x, float* y) {
  const int64_t dims = whole(p, "dims"), hidden = whole(p, "hidden"), outputs = whole(p, "outputs");
  const float noise = real(p, "noise");
  Generator parameters = parameter_generator(p);
  auto draw = [&parameters](int64_t count, float std) {
    std::vector<float> w(static_cast<size_t>(count));
    for (float& v : w) v = std * parameters.normal();
    return w;
  };
  const std::vector<float> w1 = draw(hidden * dims, 1.f / std::sqrt(static_cast<float>(dims)));
  const std::vector<float> b1 = draw(hidden, 1.f);
  const std::vector<float> w2 = draw(outputs * hidden, 1.f / std::sqrt(static_cast<float>(hidden)));
  std::vector<float> h(static_cast<size_t>(hidden));
  for (int64_t i = 0; i < n; ++i) {
    float* xi = x + i * dims;
    for (int64_t d = 0; d < dims; ++d) xi[d] = gen.normal();
    for (int64_t j = 0; j < hidden; ++j) {
      float z = b1[static_cast<size_t>(j)];
      for (int64_t d = 0; d < dims; ++d) z += w1[static_cast<size_t>(j * dims + d)] * xi[d];
      h[static_cast<size_t>(j)] = std::tanh(z);
    }
    for (int64_t o = 0; o < outputs; ++o) {
      float out = 0.f;
      for (int64_t j = 0; j < hidden; ++j)
        out += w2[static_cast<size_t>(o * hidden + j)] * h[static_cast<size_t>(j)];
      y[i * outputs + o] = out + noise * gen.normal();
    }
  }
}

// Bits are drawn as fair coins (rather than enumerated) so that both splits are independent
// draws from one distribution, whatever the number of bits. Inputs are +-1, centred.
void sample_parity(const json& p, Generator& gen, int64_t n, float* x, float* y) {
  const int64_t bits = whole(p, "bits");
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t word = gen.below(uint64_t{1} << bits);
    for (int64_t b = 0; b < bits; ++b) x[i * bits + b] = (word >> b) & 1 ? 1.f : -1.f;
    y[i] = static_cast<float>(std::popcount(word) % 2);
  }
}

// ---- the table -----------------------------------------------------------------------------

Dims plane_binary(const json&) { return {2, 1, 2}; }

const std::vector<TaskDef>& tasks() {
  static const std::vector<TaskDef> table{
      {"xor", TaskKind::binary,
       "four Gaussian blobs at (+-1, +-1), label 1 where the signs differ: no linear model "
       "beats 75%",
       {noise("std of each blob")}, plane_binary, sample_xor},
      {"moons", TaskKind::binary,
       "two interleaving half-circles (sklearn's make_moons): a curved boundary",
       {noise("std of the Gaussian noise added to each coordinate")}, plane_binary,
       sample_moons},
      {"circles", TaskKind::binary,
       "a circle inside another (sklearn's make_circles): a closed boundary",
       {{.name = "factor", .fallback = 0.5, .lo = 0, .hi = 1, .lo_open = true, .hi_open = true,
         .help = "inner radius over outer radius"},
        noise("std of the Gaussian noise added to each coordinate")},
       plane_binary, sample_circles},
      {"spirals", TaskKind::multiclass,
       "k interleaved spiral arms, one class each: a strongly non-linear boundary",
       {count("arms", 2, 2, kMaxClasses, "arms, one class each"),
        positive("turns", 1.0, "turns each arm makes around the origin"),
        noise("std of the Gaussian noise added to each coordinate")},
       [](const json& p) { return Dims{2, whole(p, "arms"), whole(p, "arms")}; },
       sample_spirals},
      {"checkerboard", TaskKind::binary,
       "uniform points in [-1, 1]^2 labelled by the parity of their cell: many sharp "
       "axis-aligned boundaries",
       {count("cells", 4, 2, kUnbounded, "cells per side")}, plane_binary, sample_checkerboard},
      {"blobs", TaskKind::multiclass,
       "k Gaussian blobs in d dimensions, centres uniform in [-2, 2]^d drawn from the seed: "
       "a nearly linear multiclass problem",
       {count("classes", 3, 2, kMaxClasses, "blobs, one class each"),
        count("dims", 2, 1, kMaxWidth, "input dimensions"),
        {.name = "spread", .fallback = 0.5, .lo = 0, .help = "std of each blob"}},
       [](const json& p) {
         return Dims{whole(p, "dims"), whole(p, "classes"), whole(p, "classes")};
       },
       sample_blobs},
      {"sine", TaskKind::regression,
       "y = sin(frequency x) + noise for x uniform in [-pi, pi]: smooth 1-D regression",
       {positive("frequency", 1.0, "angular frequency"),
        noise("std of the Gaussian noise added to y")},
       [](const json&) { return Dims{1, 1, 0}; }, sample_sine},
      {"teacher", TaskKind::regression,
       "regression onto a random one-hidden-layer tanh MLP (the teacher), Gaussian inputs",
       {count("dims", 4, 1, kMaxWidth, "input dimensions"),
        count("hidden", 16, 1, kMaxWidth, "the teacher's hidden width"),
        count("outputs", 1, 1, kMaxWidth, "output dimensions"),
        noise("std of the Gaussian noise added to y")},
       [](const json& p) { return Dims{whole(p, "dims"), whole(p, "outputs"), 0}; },
       sample_teacher},
      {"parity", TaskKind::binary,
       "the parity of n random bits given as +-1 inputs: every bit matters, hard for "
       "gradient descent",
       {count("bits", 6, 1, 24, "input bits")},
       [](const json& p) { return Dims{whole(p, "bits"), 1, 2}; }, sample_parity},
  };
  return table;
}

const FieldPath kRoot{"task"};
// The task whose fields and kind come from a file of the user's (csv_task.cpp), not the table.
constexpr const char* kCsv = "csv";

const TaskDef& task_named(const json* name, const FieldPath& path) {
  if (name == nullptr || !name->is_string())
    throw FieldError(path, fmt::format("expected a task name, found {}; known: {}",
                                       name ? detail::found_text(*name) : "nothing",
                                       fmt::join(task_names(), ", ")));
  const auto& table = tasks();
  const std::string wanted = name->get<std::string>();
  const auto it = std::find_if(table.begin(), table.end(),
                               [&](const TaskDef& t) { return t.name == wanted; });
  if (it == table.end())
    throw FieldError(path, fmt::format("unknown task \"{}\"; {}", wanted,
                                       detail::known_names_hint(wanted, task_names())));
  return *it;
}

const TaskDef& task_named(const std::string& name) {
  const json as_json = name;
  return task_named(&as_json, {});
}

std::vector<NumberField> all_fields(const TaskDef& task) {
  std::vector<NumberField> fields = common_fields();
  fields.insert(fields.end(), task.fields.begin(), task.fields.end());
  return fields;
}

Shape label_shape(TaskKind kind, int64_t n, int64_t output_dim) {
  switch (kind) {
    case TaskKind::binary: return {n, 1};
    case TaskKind::multiclass: return {n};
    case TaskKind::regression: return {n, output_dim};
  }
  throw Error("label_shape: unknown task kind");
}

// A whole split, as one batch of n examples.
Batch draw_split(const TaskDef& task, const json& p, const Dims& dims, uint64_t stream,
                 int64_t n) {
  Generator gen(p.at("seed").get<uint64_t>(), stream);
  Batch split{Tensor::empty({n, dims.input}),
              Tensor::empty(label_shape(task.kind, n, dims.output))};
  task.sample(p, gen, n, split.x.mutable_data(), split.y.mutable_data());
  return split;
}

}  // namespace

std::string to_string(TaskKind kind) {
  switch (kind) {
    case TaskKind::binary: return "binary";
    case TaskKind::multiclass: return "multiclass";
    case TaskKind::regression: return "regression";
  }
  throw Error("to_string: unknown task kind");
}

TaskShape task_shape(const json& resolved_spec) {
  if (resolved_spec.at("name") == kCsv) return csv_task_shape(resolved_spec);
  if (is_sequence_task(resolved_spec.at("name"))) return sequence_task_shape(resolved_spec);
  const TaskDef& task = task_named(resolved_spec.at("name").get<std::string>());
  const Dims dims = task.dims(resolved_spec);
  return {whole(resolved_spec, "n_train"),
          whole(resolved_spec, "n_test"),
          dims.input,
          task.kind == TaskKind::regression ? dims.output : 1,
          task.kind,
          dims.classes,
          dims.output,
          0};
}

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const TaskDef& task : tasks()) names.push_back(task.name);
  names.push_back(kCsv);
  for (const std::string& name : sequence_task_names()) names.push_back(name);
  return names;
}

std::string task_description(const std::string& name) {
  if (is_sequence_task(name)) return sequence_task_description(name);
  return name == kCsv ? csv_task_description() : task_named(name).description;
}

TaskKind task_kind(const std::string& name) {
  if (is_sequence_task(name)) return TaskKind::multiclass;
  if (name == kCsv)
    throw Error("task_kind: a csv task's kind depends on its file: see resolved_task_kind");
  return task_named(name).kind;
}

TaskKind resolved_task_kind(const json& resolved_spec) {
  const std::string name = resolved_spec.at("name");
  if (name != kCsv) return task_kind(name);
  const std::string kind = resolved_spec.at("kind");
  return kind == "binary" ? TaskKind::binary
         : kind == "multiclass" ? TaskKind::multiclass
                                : TaskKind::regression;
}

std::vector<std::string> task_fields(const std::string& name) {
  if (name == kCsv) return csv_task_fields();
  if (is_sequence_task(name)) return sequence_task_fields(name);
  std::vector<std::string> names{"name"};
  for (const NumberField& field : all_fields(task_named(name))) names.push_back(field.name);
  return names;
}

json task_schema(const std::string& name) {
  if (name == kCsv) return csv_task_schema();
  if (is_sequence_task(name)) return sequence_task_schema(name);
  const TaskDef& task = task_named(name);
  json properties{{"name", {{"const", task.name}}}};
  for (const NumberField& field : all_fields(task))
    properties[field.name] = detail::json_schema(field);
  return {{"type", "object"},
          {"description", task.description},
          {"properties", properties},
          {"required", {"name"}},
          {"additionalProperties", false}};
}

json resolve_task(const json& spec) {
  const json object = spec.is_string() ? json{{"name", spec}} : spec;
  if (!object.is_object())
    throw FieldError(kRoot, fmt::format("expected an object or a task name, found {}",
                                        detail::found_text(spec)));
  const auto name = object.find("name");
  if (name != object.end() && *name == kCsv) return resolve_csv_task(object);
  if (name != object.end() && name->is_string() && is_sequence_task(name->get<std::string>()))
    return resolve_sequence_task(object);
  const TaskDef& task =
      task_named(name == object.end() ? nullptr : &*name, detail::child(kRoot, "name"));
  detail::reject_unknown_fields(object, task_fields(task.name), kRoot,
                                fmt::format("task \"{}\"", task.name));
  json resolved{{"name", task.name}};
  for (const NumberField& field : all_fields(task))
    resolved[field.name] = detail::read_number(object, field, kRoot);
  return resolved;
}

Dataset make_task(const json& spec) {
  Dataset data;
  data.spec = resolve_task(spec);
  if (data.spec["name"] == kCsv) return make_csv_task(data.spec);
  if (is_sequence_task(data.spec["name"])) return make_sequence_task(data.spec);
  const TaskDef& task = task_named(data.spec.at("name").get<std::string>());
  const Dims dims = task.dims(data.spec);
  Batch train = draw_split(task, data.spec, dims, kTrainStream, whole(data.spec, "n_train"));
  Batch test = draw_split(task, data.spec, dims, kTestStream, whole(data.spec, "n_test"));
  data.x_train = train.x;
  data.y_train = train.y;
  data.x_test = test.x;
  data.y_test = test.y;
  data.kind = task.kind;
  data.num_classes = dims.classes;
  data.input_dim = dims.input;
  data.output_dim = dims.output;
  data.name = task.name;
  return data;
}

std::vector<int64_t> labels(const Tensor& y, bool allow_ignored) {
  const float* values = y.data();
  std::vector<int64_t> out(static_cast<size_t>(y.numel()));
  for (int64_t i = 0; i < y.numel(); ++i) {
    const float v = values[i];
    if (allow_ignored && v == kIgnoreLabel) {
      out[static_cast<size_t>(i)] = kIgnoreIndex;
      continue;
    }
    // Above 2^24 a float no longer holds every integer, so it cannot be trusted as an index.
    if (!(v >= 0.f) || v > 0x1.0p24f || v != std::floor(v))
      throw Error(fmt::format("labels: y[{}] = {} is not a class index", i, v));
    out[static_cast<size_t>(i)] = static_cast<int64_t>(v);
  }
  return out;
}

// ---- BatchIterator -------------------------------------------------------------------------

namespace {
// The rows of t listed in rows[0..count), in that order, copied into a new tensor.
Tensor gather_rows(const Tensor& t, const int64_t* rows, int64_t count) {
  Shape shape = t.shape();
  const int64_t width = t.numel() / shape[0];
  shape[0] = count;
  Tensor out = Tensor::empty(shape);
  const float* src = t.data();
  float* dst = out.mutable_data();
  for (int64_t r = 0; r < count; ++r)
    std::memcpy(dst + r * width, src + rows[r] * width, static_cast<size_t>(width) * sizeof(float));
  return out;
}
}  // namespace

BatchIterator::BatchIterator(Tensor x, Tensor y, int64_t batch_size, Generator& gen)
    : x_(std::move(x)), y_(std::move(y)), batch_size_(batch_size), gen_(&gen) {
  if (!x_.defined() || !y_.defined() || x_.dim() == 0 || y_.dim() == 0 ||
      x_.size(0) != y_.size(0))
    throw Error(fmt::format("BatchIterator: x {} and y {} must hold the same number of rows",
                            x_.defined() ? x_.shape().str() : "undefined",
                            y_.defined() ? y_.shape().str() : "undefined"));
  if (batch_size < 1)
    throw Error(fmt::format("BatchIterator: batch_size must be positive, got {}", batch_size));
  order_.resize(static_cast<size_t>(x_.size(0)));
  std::iota(order_.begin(), order_.end(), int64_t{0});
}

std::optional<Batch> BatchIterator::next() {
  const auto rows = static_cast<int64_t>(order_.size());
  if (!in_epoch_) {
    for (int64_t i = rows - 1; i > 0; --i)  // Fisher-Yates
      std::swap(order_[static_cast<size_t>(i)],
                order_[gen_->below(static_cast<uint64_t>(i + 1))]);
    cursor_ = 0;
    in_epoch_ = true;
  }
  if (cursor_ == rows) {
    in_epoch_ = false;
    return std::nullopt;
  }
  const int64_t count = std::min(batch_size_, rows - cursor_);
  const int64_t* picked = order_.data() + cursor_;
  cursor_ += count;
  return Batch{gather_rows(x_, picked, count), gather_rows(y_, picked, count)};
}

void BatchIterator::set_state(State state) {
  const auto rows = static_cast<int64_t>(order_.size());
  if (static_cast<int64_t>(state.order.size()) != rows)
    throw Error(fmt::format("BatchIterator: the saved order holds {} rows, the data {}",
                            state.order.size(), rows));
  std::vector<char> seen(order_.size(), 0);
  for (int64_t row : state.order) {
    if (row < 0 || row >= rows || seen[static_cast<size_t>(row)])
      throw Error("BatchIterator: the saved order is not a permutation of the rows");
    seen[static_cast<size_t>(row)] = 1;
  }
  if (state.cursor < 0 || state.cursor > rows)
    throw Error(fmt::format("BatchIterator: the saved cursor {} is outside [0, {}]", state.cursor,
                            rows));
  order_ = std::move(state.order);
  cursor_ = state.cursor;
  in_epoch_ = state.in_epoch;
}

int64_t BatchIterator::batches_per_epoch() const {
  return (static_cast<int64_t>(order_.size()) + batch_size_ - 1) / batch_size_;
}

}  // namespace actlab::data
