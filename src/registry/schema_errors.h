// Validation of a registry document against the fork's schema (valijson over nlohmann-json), with each
// of valijson's errors explained in words: the JSON path ("models[0].sha256"), the value and the rule.
// The rules the schema states only in words are checked in registry.cpp.
#pragma once
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/registry.h"

namespace tinyqat::registry {

// Empty when `doc` satisfies the schema.
std::vector<Violation> schema_violations(const nlohmann::json& doc);

}  // namespace tinyqat::registry
