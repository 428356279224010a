// Shape, Generator and the Tensor handle: construction, access and autograd state.
#include "actlab/core/tensor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <ostream>

#include "actlab/core/autograd.hpp"
#include "actlab/core/memory.hpp"

namespace actlab {

// ---- Shape -------------------------------------------------------------------------------

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(dims.begin(), dims.end()) {}
Shape::Shape(const std::vector<int64_t>& dims) : Shape(dims.begin(), dims.end()) {}

void Shape::push_back(int64_t d) {
  if (ndim_ == kMaxDims)
    throw Error(fmt::format("shape: at most {} dimensions are supported", kMaxDims));
  if (d < 0) throw Error(fmt::format("shape: dimension {} is negative ({})", ndim_, d));
  int64_t total = 0;
  if (__builtin_mul_overflow(numel(), d, &total))
    throw Error(fmt::format("shape: {} x {} elements overflow a 64-bit count", str(), d));
  dims_[static_cast<size_t>(ndim_++)] = d;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int64_t d : *this) n *= d;
  return n;
}

std::string Shape::str() const { return fmt::format("[{}]", fmt::join(*this, ", ")); }

bool operator==(const Shape& a, const Shape& b) {
  return a.ndim_ == b.ndim_ && std::equal(a.begin(), a.end(), b.begin());
}

std::ostream& operator<<(std::ostream& os, const Shape& shape) { return os << shape.str(); }

// ---- Generator: PCG32 XSH-RR (pcg-random.org), Box-Muller ----------------------------------

Generator::Generator(uint64_t seed, uint64_t stream) {
  s_.inc = (stream << 1u) | 1u;
  next_u32();
  s_.state += seed;
  next_u32();
}

uint32_t Generator::next_u32() {
  const uint64_t old = s_.state;
  s_.state = old * 6364136223846793005ULL + s_.inc;
  const auto xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
  const auto rot = static_cast<uint32_t>(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

float Generator::uniform() { return static_cast<float>(next_u32() >> 8) * 0x1.0p-24f; }

float Generator::uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

float Generator::normal() {
  if (s_.has_spare) {
    s_.has_spare = false;
    return static_cast<float>(s_.spare);
  }
  // u1 in (0, 1] keeps the log finite; 32 random bits each.
  const double u1 = (static_cast<double>(next_u32()) + 1.0) * 0x1.0p-32;
  const double u2 = static_cast<double>(next_u32()) * 0x1.0p-32;
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  s_.spare = radius * std::sin(angle);
  s_.has_spare = true;
  return static_cast<float>(radius * std::cos(angle));
}

uint64_t Generator::below(uint64_t n) {
  if (n == 0) throw Error("Generator::below: n must be positive");
  // Rejection sampling on 64 random bits removes the modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    const uint64_t r = (static_cast<uint64_t>(next_u32()) << 32) | next_u32();
    if (r < limit) return r % n;
  }
}

// ---- Storage -----------------------------------------------------------------------------

namespace detail {
Storage::Storage(int64_t n) : numel(n) {
  const memory::Buffer buffer = memory::allocate(n);
  data = buffer.data;
  buffer_bytes = buffer.bytes;
}
Storage::~Storage() { memory::release({data, buffer_bytes}); }
}  // namespace detail

// ---- Tensor construction -------------------------------------------------------------------

Tensor Tensor::empty(Shape shape) {
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->storage = std::make_shared<detail::Storage>(shape.numel());
  impl->shape = shape;
  return Tensor(std::move(impl));
}

Tensor Tensor::full(Shape shape, float value) {
  Tensor t = empty(shape);
  std::fill_n(t.mutable_data(), t.numel(), value);
  return t;
}

Tensor Tensor::zeros(Shape shape) { return full(shape, 0.f); }
Tensor Tensor::ones(Shape shape) { return full(shape, 1.f); }
Tensor Tensor::scalar(float value) { return full(Shape{}, value); }

Tensor Tensor::from_vector(std::vector<float> values, Shape shape, bool requires_grad) {
  if (static_cast<int64_t>(values.size()) != shape.numel())
    throw Error(fmt::format("from_vector: {} values do not fill shape {} ({} elements)",
                            values.size(), shape.str(), shape.numel()));
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.mutable_data());
  t.set_requires_grad(requires_grad);
  return t;
}

Tensor Tensor::randn(Shape shape, Generator& gen) {
  Tensor t = empty(shape);
  float* p = t.mutable_data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = gen.normal();
  return t;
}

Tensor Tensor::uniform(Shape shape, float lo, float hi, Generator& gen) {
  Tensor t = empty(shape);
  float* p = t.mutable_data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = gen.uniform(lo, hi);
  return t;
}

Tensor Tensor::rand(Shape shape, Generator& gen) { return uniform(shape, 0.f, 1.f, gen); }

// ---- access --------------------------------------------------------------------------------

namespace {
const detail::TensorImpl& checked(const detail::TensorImpl* impl, const char* what) {
  if (impl == nullptr) throw Error(fmt::format("{}: the tensor is undefined", what));
  return *impl;
}
}  // namespace

const Shape& Tensor::shape() const { return checked(impl_.get(), "shape").shape; }
int64_t Tensor::numel() const { return shape().numel(); }

int64_t Tensor::size(int64_t d) const {
  const int64_t nd = dim();
  const int64_t k = d < 0 ? d + nd : d;
  if (k < 0 || k >= nd)
    throw Error(fmt::format("size: dimension {} is out of range for shape {}", d, shape().str()));
  return shape()[k];
}

const float* Tensor::data() const { return checked(impl_.get(), "data").storage->data; }

float* Tensor::mutable_data() {
  auto& storage = *checked(impl_.get(), "mutable_data").storage;
  ++storage.version;
  return storage.data;
}

std::vector<float> Tensor::to_vector() const { return {data(), data() + numel()}; }

float Tensor::item() const {
  if (numel() != 1)
    throw Error(fmt::format("item: the tensor must hold exactly one element, got shape {} ({} "
                            "elements)",
                            shape().str(), numel()));
  return data()[0];
}

uint64_t Tensor::version() const { return checked(impl_.get(), "version").storage->version; }

// ---- autograd state ------------------------------------------------------------------------

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

bool Tensor::is_leaf() const { return checked(impl_.get(), "is_leaf").grad_fn == nullptr; }

Tensor& Tensor::set_requires_grad(bool on) {
  if (!is_leaf())
    throw Error("set_requires_grad: only leaf tensors can change requires_grad; use detach() "
                "to make a leaf from the result of an op");
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return checked(impl_.get(), "grad").grad; }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined() && g.shape() != shape())
    throw Error(fmt::format("set_grad: gradient of shape {} for a tensor of shape {}",
                            g.shape().str(), shape().str()));
  impl_->grad = g;
}

void Tensor::zero_grad() {
  checked(impl_.get(), "zero_grad");
  impl_->grad = Tensor();
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  return checked(impl_.get(), "grad_fn").grad_fn;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->shape = shape();
  impl->storage = impl_->storage;
  return Tensor(std::move(impl));
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape());
  std::memcpy(t.mutable_data(), data(), static_cast<size_t>(numel()) * sizeof(float));
  return t;
}

void Tensor::copy_(const Tensor& src) {
  if (src.shape() != shape())
    throw Error(fmt::format("copy_: source shape {} does not match destination shape {}",
                            src.shape().str(), shape().str()));
  std::memmove(mutable_data(), src.data(), static_cast<size_t>(numel()) * sizeof(float));
}

void Tensor::backward() const { Node::run_backward(*this); }

}  // namespace actlab
