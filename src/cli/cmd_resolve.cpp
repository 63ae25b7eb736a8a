// tinyqat resolve: the runtime's decision for one registry entry (which file runs, and why), for scripts.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "registry/registry.h"
#include "registry/resolve.h"
#include "session/session.h"

namespace tinyqat::cli {

std::function<int()> add_resolve(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "resolve", "Print which file the runtime session runs for a registry entry and why (key=value lines)");
  struct Opts {
    std::string registry, id;
    bool prefer_fp32 = false, force_int8 = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--registry", o->registry, "registry.json")->required();
  sub->add_option("--id", o->id, "Model id")->required();
  sub->add_flag("--prefer-fp32", o->prefer_fp32, "Decide as a session opened with prefer_fp32");
  sub->add_flag("--force-int8", o->force_int8,
                "Decide as a session opened with force_int8 (keep a verified int8 file that this CPU is "
                "predicted to run slower than fp32)")
      ->excludes("--prefer-fp32");
  sub->add_flag("--json", o->json, "Print JSON");
  return [o] {
    // The session itself decides (it also falls back when a verified int8 file does not load).
    auto session = Session::open(o->registry, o->id, {1, o->prefer_fp32, o->force_int8});
    const registry::Decision& d = session->decision();
    std::string s = o->json ? registry::decision_json(d) + "\n" : registry::decision_text(d);
    std::fputs(s.c_str(), stdout);
    return 0;
  };
}

}  // namespace tinyqat::cli
