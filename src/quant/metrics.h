// Agreement metrics between a reference (fp32) and a candidate (int8) model's outputs.
#pragma once
#include <vector>

namespace tinyqat::quant {

double plcc(const std::vector<double>& a, const std::vector<double>& b);  // Pearson
double srocc(const std::vector<double>& a,
             const std::vector<double>& b);  // Spearman (average ranks for ties)
double rmse(const std::vector<double>& a, const std::vector<double>& b);
double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b);
// Signal-to-quantization-noise ratio of `b` as an approximation of `a`, in dB (inf when equal).
double sqnr_db(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace tinyqat::quant
