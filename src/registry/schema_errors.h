// Validation of a registry document against the fork's schema (valijson over nlohmann-json), with each
// of valijson's errors explained in words: the JSON path ("models[0].sha256"), the value and the rule.
// The rules the schema states only in words are checked in registry.cpp.
#pragma once
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/registry.h"

namespace tinyqat::registry {

// Longest string checked against the schema (valijson's regex matcher recurses per character): every
// string field of the schema allows at most 512 characters; longer strings are refused before validation.
inline constexpr size_t kMaxSchemaString = 1024;

// Empty when `doc` satisfies the schema.
std::vector<Violation> schema_violations(const nlohmann::json& doc);

}  // namespace tinyqat::registry
