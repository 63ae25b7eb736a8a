// Train / validation / test splits of a data cache (caches.h): the fork's key-hash rule, and our own
// seeded permutation where the fork's (torch.randperm) cannot be reproduced.
#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "data/caches.h"

namespace tinyqat::data {

double key_bucket(const std::string& key, const std::string& salt) {
  const std::string text = salt + ":" + key;
  const std::string hex = sha256_hex(text.data(), text.size());
  const uint64_t head = std::stoull(hex.substr(0, 16), nullptr, 16);
  // Python's int / (1 << 64) is the correctly rounded quotient; so is this (the division is exact).
  return static_cast<double>(head) / 18446744073709551616.0;
}

namespace {
void check_fracs(double val_frac, double test_frac) {
  TQ_CHECK(val_frac >= 0 && test_frac >= 0 && val_frac + test_frac < 1,
           "val_frac {} + test_frac {} must be at least 0 each and below 1 together", val_frac, test_frac);
}
}  // namespace

SplitIndices split_by_key(const std::vector<std::string>& keys, double val_frac, double test_frac,
                          const std::string& salt) {
  check_fracs(val_frac, test_frac);
  SplitIndices s;
  s.by_key = true;
  std::map<std::string, int> where;  // 0 train, 1 val, 2 test — one hash per distinct key
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = where.find(keys[i]);
    if (it == where.end()) {
      const double b = key_bucket(keys[i], salt);
      it = where.emplace(keys[i], b < test_frac ? 2 : b < test_frac + val_frac ? 1 : 0).first;
    }
    (it->second == 0 ? s.train : it->second == 1 ? s.val : s.test).push_back(static_cast<int64_t>(i));
  }
  return s;
}

SplitIndices split_by_permutation(int64_t n, double val_frac, double test_frac, uint64_t seed) {
  check_fracs(val_frac, test_frac);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[static_cast<size_t>(i)] = i;
  SplitMix64 rng(stream_seed(seed, 0x5a11, 0));
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(perm[static_cast<size_t>(i)], perm[rng.below(static_cast<uint64_t>(i + 1))]);
  auto count = [&](double frac) {
    return frac > 0 ? std::max<int64_t>(1, static_cast<int64_t>(std::llround(frac * static_cast<double>(n))))
                    : 0;
  };
  int64_t ntest = count(test_frac), nval = count(val_frac);
  if (ntest == 0 && nval >= n)
    nval = 0;  // the trainer's rule since its first version: no split rather than no data
  TQ_CHECK(nval + ntest < n || n == 0,
           "{} samples are too few for val_frac {} and test_frac {}: nothing would be left to train on", n,
           val_frac, test_frac);
  SplitIndices s;
  s.train.assign(perm.begin(), perm.end() - nval - ntest);
  s.val.assign(perm.end() - nval - ntest, perm.end() - ntest);
  s.test.assign(perm.end() - ntest, perm.end());
  return s;
}

SplitIndices split_rows(const std::vector<std::string>& keys, int64_t n, double val_frac, double test_frac,
                        uint64_t seed) {
  if (!keys.empty() && std::set<std::string>(keys.begin(), keys.end()).size() > 1)
    return split_by_key(keys, val_frac, test_frac);
  return split_by_permutation(n, val_frac, test_frac, seed);
}

}  // namespace tinyqat::data
