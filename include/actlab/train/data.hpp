// Tasks for comparing activations: synthetic ones (xor, moons, circles, spirals, checkerboard,
// blobs, sine, teacher, parity), a CSV file of one's own (csv, in csv_task.hpp) and sequence
// tasks for decoders (modadd, reverse, text: sequence_tasks.hpp), built from a config's "task"
// object with a seeded train/test split, and shuffled mini-batches over them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/core/tensor.hpp"
#include "actlab/detail/fields.hpp"  // FieldError, which make_task throws

namespace actlab::data {

// Which output head and loss a task asks for: sigmoid + BCE-with-logits, softmax +
// cross-entropy, or linear + MSE.
enum class TaskKind { binary, multiclass, regression };
std::string to_string(TaskKind kind);  // "binary", "multiclass", "regression"

// Labels: binary y is [N, 1] of 0/1; multiclass y is [N] of class indices held as floats (see
// `labels`); regression y is [N, output_dim].
struct Dataset {
  Tensor x_train, y_train, x_test, y_test;  // x: [N, input_dim]
  TaskKind kind = TaskKind::binary;
  int64_t num_classes = 0;  // 2 for binary, k for multiclass, 0 for regression
  int64_t input_dim = 0;
  int64_t output_dim = 0;  // 1 for binary, k for multiclass (logits), outputs for regression
  std::string name;
  nlohmann::json spec;  // the resolved task spec: every field, defaults filled in
  // What a model's raw inputs are, for csv tasks (empty for synthetic ones): the feature
  // columns, their standardisation x = (raw - input_mean) / input_scale (empty when none), and
  // the class names in label order (label k is class_names[k]).
  std::vector<std::string> feature_names;
  std::vector<float> input_mean, input_scale;
  std::vector<std::string> class_names;
  // A sequence task (sequence_tasks.hpp): x [N, T] holds token ids and y [N, T] the token that
  // follows each position, both as floats, or kIgnoreLabel where a position is not scored (the
  // prompt of modadd). kind is multiclass; num_classes = output_dim = the vocabulary;
  // input_dim = T; class_names[k] is token k's text (a UTF-8 character for text, "7", "+",
  // "=" for the synthetic tasks). Only a sequence model (a kind registered with
  // ModelInfo::sequence, e.g. decoder) takes it; the loss and accuracy are per scored token.
  bool sequence = false;
};

// The label of a position that is not scored: cross_entropy's ignore_index (PyTorch's -100).
inline constexpr float kIgnoreLabel = -100.f;

// Builds a task from a spec such as {"name": "spirals", "arms": 3, "n_train": 1000, "seed": 1}
// (or just its name). Train and test are drawn independently from the same distribution; the
// same spec gives bit-identical tensors. Bad specs throw FieldError with paths under "task".
Dataset make_task(const nlohmann::json& spec);

// The spec checked and completed with every default, as make_task reads it.
nlohmann::json resolve_task(const nlohmann::json& spec);

// What a task's data will take, known from its resolved spec before any of it is made (for the
// memory estimate). A csv task's row counts are bounds from its files' sizes, as a row of k
// fields takes at least 2k bytes (each field a character and a separator).
struct TaskShape {
  int64_t n_train = 0, n_test = 0;
  int64_t input_dim = 0;
  int64_t label_width = 0;  // floats of y per example
  TaskKind kind = TaskKind::binary;
  int64_t num_classes = 0;  // as in Dataset
  int64_t output_dim = 0;
  // Bytes besides the tensors while the data exist: for csv, the files' bytes (read again to
  // check them each time the task is made) and the parsed values that later runs reuse.
  int64_t other_bytes = 0;
  bool sequence = false;  // as in Dataset
};
TaskShape task_shape(const nlohmann::json& resolved_spec);

std::vector<std::string> task_names();
std::string task_description(const std::string& name);         // one line
// A task's kind by its name; a csv task's kind depends on its data: throws Error for "csv".
TaskKind task_kind(const std::string& name);
// The kind of a resolved spec (as resolve_task returns it), whatever the task.
TaskKind resolved_task_kind(const nlohmann::json& resolved_spec);
// Whether a task's examples are sequences (Dataset::sequence), by its name.
bool is_sequence_task(const std::string& name);
std::vector<std::string> task_fields(const std::string& name);  // "name", then the rest
// A JSON Schema for the task's spec (types, bounds, defaults, one line per field), for
// configs/schema.json and --help.
nlohmann::json task_schema(const std::string& name);

// Multiclass labels as cross_entropy takes them; throws when a value is not a class index
// (or, with allow_ignored, kIgnoreLabel, which becomes cross_entropy's kIgnoreIndex).
std::vector<int64_t> labels(const Tensor& y, bool allow_ignored = false);

struct Batch {
  Tensor x, y;
};

// Shuffled mini-batches of the rows of (x, y): each epoch draws a fresh permutation from the
// generator and visits every row once; the last batch holds the remainder. The rows are copied
// (gathered) into new tensors. The generator must outlive the iterator.
//   for (int epoch = 0; epoch < epochs; ++epoch)
//     while (auto batch = batches.next()) step(batch->x, batch->y);
class BatchIterator {
 public:
  BatchIterator(Tensor x, Tensor y, int64_t batch_size, Generator& gen);
  // The next batch of this epoch, or nullopt when the epoch is over; the call after that
  // starts the next epoch.
  std::optional<Batch> next();
  int64_t batches_per_epoch() const;

  // Where the iterator stands: the current epoch's permutation of the rows and how many of them
  // it has handed out. Restored together with the generator's state, it continues the same
  // sequence of batches.
  struct State {
    std::vector<int64_t> order;
    int64_t cursor = 0;
    bool in_epoch = false;
  };
  State state() const { return {order_, cursor_, in_epoch_}; }
  // Throws Error unless `order` is a permutation of the rows and `cursor` lies within it.
  void set_state(State state);

 private:
  Tensor x_, y_;
  int64_t batch_size_;
  Generator* gen_;
  std::vector<int64_t> order_;  // this epoch's permutation of the rows
  int64_t cursor_ = 0;          // rows of this epoch already handed out
  bool in_epoch_ = false;
};

}  // namespace actlab::data
