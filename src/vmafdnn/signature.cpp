// vmaf_dnn_verify_signature: the fork's contract — the registry entry whose "onnx" has the model's file
// name, its "sigstore_bundle" (relative to the registry's folder), `cosign verify-blob` found on PATH and
// started without a shell (posix_spawn, argv array), 0 only when cosign exits 0. Fails closed. The
// registry is read as JSON (not JSON: -EBADMSG) rather than scanned for substrings.
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "vmafdnn/vmafdnn.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

// The identity the fork's release workflow signs with (its docs/ai/security.md).
constexpr const char* kIdentityRegexp = "https://github.com/lusoris/vmaf/.github/workflows/.+";
constexpr const char* kOidcIssuer = "https://token.actions.githubusercontent.com";

bool is_executable_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

// `cosign` on PATH, or empty.
std::string find_cosign() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::string all(path);
  size_t start = 0;
  while (start <= all.size()) {
    size_t end = all.find(':', start);
    if (end == std::string::npos) end = all.size();
    const std::string dir = all.substr(start, end - start);
    if (!dir.empty() && is_executable_file(dir + "/cosign")) return dir + "/cosign";
    start = end + 1;
  }
  return {};
}

int verify(const char* onnx_path, const char* registry_path) {
  const fs::path model(onnx_path);
  const fs::path reg = registry_path != nullptr  ? fs::path(registry_path)
                       : model.has_parent_path() ? model.parent_path() / "registry.json"
                                                 : fs::path("model/tiny/registry.json");
  std::error_code ec;
  if (!fs::is_regular_file(reg, ec)) return -ENOENT;
  if (fs::file_size(reg, ec) > (1u << 20)) return -EFBIG;
  std::vector<uint8_t> text;
  try {
    text = tinyqat::read_file(reg.string());
  } catch (const tinyqat::Error&) {
    return -EIO;
  }
  const nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return -EBADMSG;
  if (!j.contains("models") || !j["models"].is_array()) return -ENOENT;
  const std::string name = model.filename().string();
  std::string bundle;
  bool found = false;
  for (const auto& e : j["models"]) {
    if (!e.is_object() || !e.contains("onnx") || !e["onnx"].is_string()) continue;
    if (fs::path(e["onnx"].get<std::string>()).filename().string() != name) continue;
    found = true;
    if (e.contains("sigstore_bundle") && e["sigstore_bundle"].is_string())
      bundle = e["sigstore_bundle"].get<std::string>();
    break;
  }
  if (!found || bundle.empty()) return -ENOENT;
  const fs::path bundle_path = reg.parent_path() / bundle;
  if (!fs::is_regular_file(bundle_path, ec)) return -ENOENT;

  const std::string cosign = find_cosign();
  if (cosign.empty()) return -EACCES;
  const std::string bundle_arg = "--bundle=" + bundle_path.string();
  std::vector<std::string> args = {"cosign",        "verify-blob",
                                   bundle_arg,      "--certificate-identity-regexp",
                                   kIdentityRegexp, "--certificate-oidc-issuer",
                                   kOidcIssuer,     onnx_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (int rc = ::posix_spawn(&pid, cosign.c_str(), nullptr, nullptr, argv.data(), environ)) return -rc;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -errno;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
}

}  // namespace

extern "C" int vmaf_dnn_verify_signature(const char* onnx_path, const char* registry_path) {
  if (onnx_path == nullptr) return -EINVAL;
  try {
    return verify(onnx_path, registry_path);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (...) {
    return -EIO;
  }
}
