// The fork's training data caches, read as they are (../shared/fork-api/ai: datamodule.py, features.py,
// splits.py, frame_dataset.py), and the split rules, plus `tinyqat data show` / `convert`.
//
//   feature cache  .npz: "features" [N,F] and "scores" [N] (np.load), optionally "key" (strings)
//                  .parquet/.pq: the FEATURE_COLUMNS present + "mos" (+ "key"), any numeric types
//   frame cache    .parquet/.pq: "frame_path" + "mos" (nr_metric) or "deg_path" + "clean_path"
//                  (learned_filter), optionally "key"; frames are .npy (H×W, any dtype, / 255 as the
//                  fork does) or images (luma via OpenCV, / 255); relative paths resolve against the
//                  working directory
//
// A null where a number or a path is needed, a missing column, frames of different sizes: an Error
// naming the file, the column and the row.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/corpus.h"
#include "io/npy.h"

namespace tinyqat::data {

// The fork's FEATURE_COLUMNS, in order.
constexpr std::array<const char*, 6> kFeatureColumns = {"adm2",       "vif_scale0", "vif_scale1",
                                                        "vif_scale2", "vif_scale3", "motion2"};

struct Cache {
  std::string path;
  std::string kind;                     // "features" | "frames" | "pairs"
  std::string input_name, target_name;  // what the arrays are called in messages: "features"/"scores", ...
  Tensor input, target;  // float32, samples on axis 0: [N,F]/[N] · [N,1,H,W]/[N] · [N,1,H,W]/[N,1,H,W]
  std::vector<std::string> keys;     // one per row, as the fork's str(key); empty without a key column
  std::vector<std::string> columns;  // feature caches: the feature columns used, in FEATURE_COLUMNS order
};

// Reads any of the caches above; the kind comes from the file's extension and columns.
Cache load_cache(const std::string& path, const Progress& progress = {});

// ---- splits ---------------------------------------------------------------------------------------

struct SplitIndices {
  std::vector<int64_t> train, val, test;  // row indices; by-key splits keep row order
  bool by_key = false;
};

constexpr const char* kSplitSalt = "vmaf-train-splits-v1";
// The fork's bucket of a key: the first 8 bytes of sha256("salt:key"), big-endian, divided by 2^64.
double key_bucket(const std::string& key, const std::string& salt = kSplitSalt);
// The fork's rule (splits.py): a key whose bucket is < test_frac is test, < test_frac + val_frac val,
// train otherwise; every row goes where its key goes. Error when val_frac + test_frac >= 1.
SplitIndices split_by_key(const std::vector<std::string>& keys, double val_frac, double test_frac,
                          const std::string& salt = kSplitSalt);
// Without keys (the fork's torch.randperm(generator seed 0) cannot be reproduced outside PyTorch): a
// SplitMix64 permutation from `seed`; the last round(test_frac·n) rows of it are test, the
// round(val_frac·n) before them val (at least one each when the fraction is > 0).
SplitIndices split_by_permutation(int64_t n, double val_frac, double test_frac, uint64_t seed);
// What the fork's datamodule does: keys with more than one distinct value → by key, else permutation.
SplitIndices split_rows(const std::vector<std::string>& keys, int64_t n, double val_frac, double test_frac,
                        uint64_t seed);

// ---- tinyqat data show / convert ---------------------------------------------------------------------

// Human-readable description of a .parquet/.pq (columns with physical and logical types, nullability,
// rows, row groups, codecs, encodings; only the footer is read), .npz or .npy file (arrays, dtypes,
// shapes) or feature CSV.
std::string describe_data_file(const std::string& path);

// A .parquet/.pq → .npz conversion. layout "columns": one array per column (numbers keep their type,
// float64 included; strings become NumPy unicode arrays; a null is NaN in a float column and an error
// elsewhere). layout "feature-cache": the fork's npz feature cache ("features", "scores", "key").
// `columns` (optional) selects columns by name. Returns what was written, one line per array.
std::vector<std::string> convert_to_npz(const std::string& in, const std::string& out,
                                        const std::string& layout, const std::vector<std::string>& columns);

}  // namespace tinyqat::data
