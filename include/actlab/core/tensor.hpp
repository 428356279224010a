// Tensor: a cheap handle to shared float32 storage (row-major, contiguous, 64-byte aligned),
// a shape, and autograd state. Copying a Tensor copies the handle, never the data.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace actlab {

// Every error actlab raises: shape mismatches, bad arguments, misuse of autograd.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file the user named that is missing or does not hold what it should (a run directory, a
// damaged or mismatched checkpoint): bad input, which the command line reports with exit 2.
class InputError : public Error {
 public:
  using Error::Error;
};

// A tensor's dimensions, held inline so that making a shape never touches the heap.
class Shape {
 public:
  static constexpr int kMaxDims = 8;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  Shape(const std::vector<int64_t>& dims);  // NOLINT: implicit on purpose (API.md takes vectors)
  template <class It>
  Shape(It first, It last) {
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }

  int64_t size() const { return ndim_; }  // number of dimensions, like std::vector::size
  bool empty() const { return ndim_ == 0; }
  int64_t operator[](int64_t i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t& operator[](int64_t i) { return dims_[static_cast<size_t>(i)]; }
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + ndim_; }
  int64_t back() const { return dims_[static_cast<size_t>(ndim_ - 1)]; }
  void push_back(int64_t d);
  int64_t numel() const;

  std::vector<int64_t> vec() const { return {begin(), end()}; }
  operator std::vector<int64_t>() const { return vec(); }  // NOLINT: implicit on purpose
  std::string str() const;                                   // "[2, 3]"

  friend bool operator==(const Shape& a, const Shape& b);

 private:
  std::array<int64_t, kMaxDims> dims_{};
  int32_t ndim_ = 0;
};
std::ostream& operator<<(std::ostream& os, const Shape& shape);

// Our own random generator, so that a seed gives the same numbers with any standard library:
// PCG32 (XSH-RR, O'Neill 2014) for uniform bits, Box-Muller (in double) for normals.
class Generator {
 public:
  struct State {
    uint64_t state = 0;
    uint64_t inc = 0;
    bool has_spare = false;
    double spare = 0.0;
  };

  explicit Generator(uint64_t seed = 0, uint64_t stream = 0);
  uint32_t next_u32();
  float uniform();                 // [0, 1), 24 random bits
  float uniform(float lo, float hi);
  float normal();                  // N(0, 1)
  uint64_t below(uint64_t n);      // uniform integer in [0, n), unbiased
  State state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  State s_;
};

class Node;
class Tensor;

namespace detail {
// The memory behind one or more tensors (views share it). The version counts writes, so that
// autograd can refuse a gradient computed from a value changed in place after it was saved.
struct Storage {
  float* data = nullptr;
  int64_t numel = 0;
  int64_t buffer_bytes = 0;  // the true size of `data`'s buffer (memory.hpp), >= numel floats
  uint64_t version = 0;
  explicit Storage(int64_t n);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};
struct TensorImpl;
}  // namespace detail

class Tensor {
 public:
  Tensor() = default;  // undefined until assigned

  static Tensor from_vector(std::vector<float> values, Shape shape, bool requires_grad = false);
  static Tensor empty(Shape shape);  // uninitialised values
  static Tensor zeros(Shape shape);
  static Tensor ones(Shape shape);
  static Tensor full(Shape shape, float value);
  static Tensor scalar(float value);  // a 0-dim tensor
  static Tensor randn(Shape shape, Generator& gen);
  static Tensor rand(Shape shape, Generator& gen);  // U[0, 1)
  static Tensor uniform(Shape shape, float lo, float hi, Generator& gen);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return shape().size(); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const;
  const float* data() const;
  float* mutable_data();  // marks the storage as written (bumps its version)
  std::vector<float> to_vector() const;
  float item() const;

  bool requires_grad() const;
  Tensor& set_requires_grad(bool on);  // leaves only
  bool is_leaf() const;
  Tensor grad() const;
  void set_grad(const Tensor& g);
  void zero_grad();  // sets the gradient to undefined, as PyTorch's zero_grad(set_to_none=True)
  Tensor detach() const;  // same storage, no autograd history
  Tensor clone() const;   // a copy of the values, no autograd history
  void copy_(const Tensor& src);  // writes src's values in place; records nothing
  void backward() const;
  const std::shared_ptr<Node>& grad_fn() const;
  uint64_t version() const;

  // Internal: the implementation handle, for the autograd engine and kernels.
  detail::TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<detail::TensorImpl>& impl_ptr() const { return impl_; }
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<detail::TensorImpl> impl_;
};

namespace detail {
struct TensorImpl {
  Shape shape;
  std::shared_ptr<Storage> storage;
  bool requires_grad = false;
  Tensor grad;                    // accumulated gradient (leaves)
  std::shared_ptr<Node> grad_fn;  // the node that made this tensor; null for leaves
};
}  // namespace detail

// Operators broadcast as NumPy and PyTorch do (defined in src/ops/arithmetic.cpp).
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, float s);
Tensor operator+(float s, const Tensor& a);
Tensor operator-(const Tensor& a, float s);
Tensor operator-(float s, const Tensor& a);
Tensor operator*(const Tensor& a, float s);
Tensor operator*(float s, const Tensor& a);
Tensor operator/(const Tensor& a, float s);
Tensor operator/(float s, const Tensor& a);

}  // namespace actlab
