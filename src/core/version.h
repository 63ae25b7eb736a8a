#pragma once
namespace tinyqat {
inline constexpr const char* kVersion = "0.1.0";
}
