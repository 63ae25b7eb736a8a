#include "io/model_data.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"

namespace tinyqat {

NamedTensors ModelData::all() const {
  NamedTensors a = inputs;
  a.insert(a.end(), others.begin(), others.end());
  return a;
}

namespace {

bool is_npy(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
}

// Collects arrays for the inputs, refusing names the model lacks and inputs given twice.
class Binder {
 public:
  Binder(const std::vector<std::string>& inputs, const std::string& flag)
      : inputs_(inputs), flag_(flag), got_(inputs.size()), from_(inputs.size()) {}

  // `skipped`: names of .npz members that name no input and were not read.
  void add_file(NamedTensors arrays, std::vector<std::string> skipped, bool npy, const std::string& path,
                const std::string& name) {
    files_.push_back(path);
    other_names_.insert(other_names_.end(), skipped.begin(), skipped.end());
    if (!name.empty()) {
      TQ_CHECK(npy, "{} {}={}: NAME= takes a .npy (a .npz names its arrays itself)", flag_, name, path);
      give(name, std::move(arrays.at(0).second), path);
      return;
    }
    if (npy) {
      TQ_CHECK(inputs_.size() == 1,
               "{} {}: a .npy serves single-input models only (this one has inputs {}); use NAME=FILE.npy "
               "or a .npz",
               flag_, path, fmt::join(inputs_, ", "));
      give(inputs_[0], std::move(arrays.at(0).second), path);
      return;
    }
    TQ_CHECK(!arrays.empty() || !skipped.empty(), "{} {}: the file is empty (no arrays)", flag_, path);
    for (auto& [n, t] : arrays) {
      if (index(n) < inputs_.size())
        give(n, std::move(t), path);
      else
        others_.emplace_back(n, std::move(t));
    }
  }

  ModelData finish(bool require_all) {
    ModelData d;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      if (got_[i]) {
        d.inputs.emplace_back(inputs_[i], std::move(*got_[i]));
        continue;
      }
      if (!require_all) continue;
      std::vector<std::string> names = other_names_;
      for (const auto& [n, t] : others_) names.push_back(n);
      fail("{} {}: no array named '{}' (a model input; other arrays given: {})", flag_,
           fmt::join(files_, ", "), inputs_[i],
           names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
    }
    d.others = std::move(others_);
    d.other_names = std::move(other_names_);
    return d;
  }

 private:
  size_t index(const std::string& name) const {
    return static_cast<size_t>(std::find(inputs_.begin(), inputs_.end(), name) - inputs_.begin());
  }
  void give(const std::string& name, Tensor t, const std::string& path) {
    const size_t i = index(name);
    TQ_CHECK(i < inputs_.size(), "{} {}: the model has no input named '{}' (its inputs: {})", flag_, path,
             name, fmt::join(inputs_, ", "));
    TQ_CHECK(!got_[i], "{} {}: input '{}' is given twice (also by {})", flag_, path, name, from_[i]);
    got_[i] = std::move(t);
    from_[i] = path;
  }

  const std::vector<std::string>& inputs_;
  const std::string& flag_;
  std::vector<std::optional<Tensor>> got_;
  std::vector<std::string> from_, files_, other_names_;
  NamedTensors others_;
};

// A .npz: every member with read_others, else only the inputs' (the others' names go to *skipped).
NamedTensors parse(const std::vector<uint8_t>& bytes, const std::string& path, bool npy,
                   const std::vector<std::string>& inputs, bool read_others,
                   std::vector<std::string>* skipped) {
  if (npy) return {{"", parse_npy(bytes.data(), bytes.size(), path)}};
  if (read_others) return parse_npz(bytes.data(), bytes.size(), path);
  return parse_npz_only(bytes.data(), bytes.size(), path, inputs, skipped);
}

}  // namespace

ModelData read_model_data(const std::vector<std::string>& specs, const std::vector<std::string>& inputs,
                          const std::string& flag, bool require_all, bool read_others) {
  Binder b(inputs, flag);
  for (const auto& spec : specs) {
    // NAME=FILE.npy, unless the whole spec is a file's name.
    std::string name, path = spec;
    const auto eq = spec.find('=');
    std::error_code ec;
    if (eq != std::string::npos && !std::filesystem::exists(spec, ec)) {
      name = spec.substr(0, eq);
      path = spec.substr(eq + 1);
      TQ_CHECK(!name.empty() && !path.empty(), "{} '{}': expected FILE.npz, FILE.npy or NAME=FILE.npy", flag,
               spec);
    }
    const bool npy = is_npy(path);
    std::vector<std::string> skipped;
    NamedTensors arrays = parse(read_file(path), path, npy, inputs, read_others, &skipped);
    b.add_file(std::move(arrays), std::move(skipped), npy, path, name);
  }
  return b.finish(require_all);
}

ModelData parse_model_data(const std::vector<uint8_t>& bytes, const std::string& path,
                           const std::vector<std::string>& inputs, const std::string& flag) {
  Binder b(inputs, flag);
  const bool npy = is_npy(path);
  std::vector<std::string> skipped;
  NamedTensors arrays = parse(bytes, path, npy, inputs, false, &skipped);
  b.add_file(std::move(arrays), std::move(skipped), npy, path, "");
  return b.finish(true);
}

}  // namespace tinyqat
