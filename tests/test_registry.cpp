// The registry (schema validation, rules, atomic writes), the fp32/int8 decision, the session's
// concurrency, the accuracy gate and the PTQ handoff — on registries built in temporary folders from
// models the tests make, and, when ../shared exists, from the fork's own models and sidecars.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/handoff_options.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/model_paths.h"
#include "core/sha256.h"
#include "handoff/gate.h"
#include "handoff/handoff.h"
#include "handoff/quantize.h"
#include "ir/interface.h"
#include "onnx/onnx_io.h"
#include "quant/ladder.h"
#include "quant/ptq.h"
#include "registry/registry.h"
#include "registry/resolve.h"
#include "registry/schema_errors.h"
#include "session/session.h"
#include "support/test_support.h"
#include "tinyqat/session.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

namespace reg = tinyqat::registry;
using json = nlohmann::json;

const std::string kHexA(64, 'a');

void write_text(const fs::path& p, const std::string& s) {
  write_file_atomic(p.string(), s);
}

// Every message of the violations, one per line.
std::string all_errors(const std::string& doc) {
  std::string s;
  for (const auto& v : reg::validate_text(doc).errors) s += reg::format(v) + "\n";
  return s;
}

json minimal_entry(const std::string& id) {
  return {{"id", id},        {"kind", "fr"}, {"onnx", id + ".onnx"},
          {"sha256", kHexA}, {"opset", 17},  {"license", "MIT"}};
}
std::string doc_with(const std::vector<json>& models) {
  json d = {{"schema_version", 1}, {"models", models}};
  return d.dump();
}

// A small learned_filter, its dynamic and static int8, and data: the files a handoff registers.
struct Models {
  fs::path dir, fp32, dynamic, statik, data;
};
Models make_models(const std::string& name) {
  Models m;
  m.dir = temp_dir(name);
  Model fp32 = zoo::learned_filter(1, 8, 2, 5);
  m.fp32 = m.dir / "lf.onnx";
  m.dynamic = m.dir / "lf.dyn.onnx";
  m.statik = m.dir / "lf.static.onnx";
  m.data = m.dir / "eval.npz";
  export_onnx(fp32, m.fp32.string());
  quant::QConfig cfg;
  export_onnx(quant::ptq_dynamic(fp32, cfg, nullptr), m.dynamic.string());
  NamedTensors calib = {{"degraded", luma_images(8, 32, 32, 11)}};
  export_onnx(quant::ptq_static(fp32, calib, cfg, nullptr), m.statik.string());
  write_npz(m.data.string(), {{"degraded", luma_images(6, 32, 32, 12)}}, false);
  return m;
}

handoff::Artifact artifact(const fs::path& registry, const std::string& id, const Models& m,
                           const fs::path& int8, const std::string& mode) {
  handoff::Artifact a;
  a.registry = registry.string();
  a.id = id;
  a.fp32 = m.fp32.string();
  a.int8 = int8.string();
  a.quant_mode = mode;
  a.license = "MIT";
  return a;
}

int run_cli(const std::string& args, std::string* err = nullptr) {
  CliResult r = cli(args, temp_dir("cli-err"));
  if (err) *err = r.err;
  return r.code;
}

// ---------------------------------------------------------------------------------------------------

TEST(Registry, SchemaIsTheForksVerbatim) {
  fs::path shared = shared_dir();
  if (shared.empty()) GTEST_SKIP() << "SKIP ../shared/fork-models not found: schema copy not compared";
  EXPECT_EQ(json::parse(reg::schema_text()),
            json::parse(text_of(shared / "fork-models/registry.schema.json")));
}

TEST(Registry, DefaultBudgetsFollowTheSeed) {
  EXPECT_DOUBLE_EQ(reg::default_budget("qat"), 0.002);
  EXPECT_DOUBLE_EQ(reg::default_budget("static"), 0.005);
  EXPECT_DOUBLE_EQ(reg::default_budget("dynamic"), 0.01);
  reg::Entry e;
  e.quant_mode = "static";
  EXPECT_DOUBLE_EQ(e.budget(), 0.005);
  e.quant_accuracy_budget_plcc = 0.003;
  EXPECT_DOUBLE_EQ(e.budget(), 0.003);
}

TEST(Registry, RoundTripKeepsTheSchemaKeyOrderAndIsStable) {
  json e = minimal_entry("m");
  e["quant_mode"] = "static";
  e["int8_sha256"] = std::string(64, 'b');
  e["quant_accuracy_budget_plcc"] = 0.004;
  e["quant_calibration_set"] = "calib.npz";
  e["notes"] = "n";
  e["smoke"] = false;
  json d = {{"models", {e}}, {"schema_version", 1}, {"$schema", "x"}};
  fs::path dir = temp_dir("registry-roundtrip");
  write_text(dir / "r.json", d.dump());
  reg::Registry r = reg::load_registry((dir / "r.json").string());
  std::string t = reg::to_text(r);
  EXPECT_LT(t.find("\"$schema\""), t.find("\"schema_version\""));
  EXPECT_LT(t.find("\"schema_version\""), t.find("\"models\""));
  const char* order[] = {"\"id\"",
                         "\"kind\"",
                         "\"onnx\"",
                         "\"sha256\"",
                         "\"opset\"",
                         "\"notes\"",
                         "\"smoke\"",
                         "\"quant_mode\"",
                         "\"quant_calibration_set\"",
                         "\"int8_sha256\"",
                         "\"quant_accuracy_budget_plcc\"",
                         "\"license\""};
  for (size_t i = 1; i < std::size(order); ++i) EXPECT_LT(t.find(order[i - 1]), t.find(order[i])) << order[i];
  r.path = (dir / "r2.json").string();
  reg::save_registry(r);
  EXPECT_EQ(text_of(dir / "r2.json"), t);
  EXPECT_EQ(reg::to_text(reg::load_registry(r.path)), t);
}

TEST(RegistryBadInput, NotJson) {
  std::string e = all_errors("{\"schema_version\": 1, \"models\": [");
  EXPECT_NE(e.find("not JSON"), std::string::npos) << e;
  EXPECT_NE(e.find("line 1"), std::string::npos) << e;
  // A number too large for a double is a parse failure too (found by fuzz/fuzz_registry.cpp).
  e = all_errors("{\"schema_version\": 2E22222222222244444, \"models\": []}");
  EXPECT_NE(e.find("not JSON"), std::string::npos) << e;
  fs::path dir = temp_dir("registry-notjson");
  write_text(dir / "r.json", "not json at all");
  try {
    reg::load_registry((dir / "r.json").string());
    FAIL() << "loaded";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("r.json: not JSON"), std::string::npos) << err.what();
  }
}

TEST(RegistryBadInput, EverySchemaViolationIsNamed) {
  json bad = {{"id", "Bad Id"},       {"kind", "xx"},
              {"onnx", "../up.onnx"}, {"sha256", std::string(63, 'a')},
              {"quant_mode", "int4"}, {"quant_accuracy_budget_plcc", 1.5},
              {"opset", "17"},        {"colour", "blue"}};
  json doc = {{"schema_version", 7}, {"models", {bad, json{{"id", "x"}}}}, {"extra", 1}};
  std::string e = all_errors(doc.dump());
  for (const char* want :
       {"models[0].id: \"Bad Id\" does not match the pattern",
        "models[0].kind: \"xx\" is not one of: fr, nr, filter",
        "models[0].onnx: \"../up.onnx\" does not match", "models[0].sha256: \"" /* … */,
        "63 characters, need 64 lowercase hex digits",
        "models[0].quant_mode: \"int4\" is not one of: fp32, static, dynamic, qat",
        "models[0].quant_accuracy_budget_plcc: 1.5 is outside [0.0, 1.0]",
        "models[0].opset: expected an integer, got a string \"17\"", "models[0].colour: unknown field",
        "models[1].kind: required field is missing", "models[1].onnx: required field is missing",
        "models[1].sha256: required field is missing", "schema_version: 7 is not one of: 0, 1",
        "extra: unknown field"})
    EXPECT_NE(e.find(want), std::string::npos) << "missing: " << want << "\n" << e;
  // The wrappers valijson adds ("Failed to validate item #0") are not reported.
  EXPECT_EQ(e.find("Failed to validate"), std::string::npos) << e;
}

TEST(RegistryBadInput, RulesTheSchemaStatesInWords) {
  json a = minimal_entry("a"), b = minimal_entry("a"), c = minimal_entry("c"), d = minimal_entry("d");
  c["onnx"] = "sub/../../escape.onnx";
  d["quant_mode"] = "dynamic";  // no int8_sha256
  std::string e = all_errors(doc_with({a, b, c, d}));
  EXPECT_NE(e.find("models[1].id: duplicate id 'a' (also models[0])"), std::string::npos) << e;
  EXPECT_NE(e.find("models[2].onnx: 'sub/../../escape.onnx': '..' escapes the registry folder"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("models[3].int8_sha256: required when quant_mode is 'dynamic'"), std::string::npos) << e;
  json ok = minimal_entry("ok");
  ok["quant_mode"] = "static";
  ok["int8_sha256"] = kHexA;
  reg::Validation v = reg::validate_text(doc_with({ok}));
  EXPECT_TRUE(v.errors.empty());
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_EQ(v.warnings[0].where, "models[0].quant_calibration_set");
}

// A long string value is shortened to 80 bytes in a message; the cut must not split a UTF-8 sequence
// (the JSON writer threw on it: found by fuzz/fuzz_registry.cpp).
TEST(RegistryBadInput, LongNonAsciiValuesAreShortenedWholeCharacters) {
  json bad = minimal_entry("a");
  bad["kind"] = "x" + std::string(60, 'y') + [] {
    std::string s;
    for (int i = 0; i < 40; ++i) s += "\xc3\xa9";  // é
    return s;
  }();
  std::string e = all_errors(doc_with({bad}));
  EXPECT_NE(e.find("models[0].kind: \"xyyy"), std::string::npos) << e;
  EXPECT_NE(e.find("\xc3\xa9\"..."), std::string::npos) << "cut after a whole character: " << e;
  EXPECT_NO_THROW((void)json(e).dump()) << "the message is UTF-8";
}

// valijson matches `pattern` with std::regex, whose matcher recurses per character: a 200 000-character
// id overflowed the stack (a signal from `registry validate`). Strings longer than any field allows are
// refused before the schema is checked.
TEST(RegistryBadInput, HugeStringsAreRefusedBeforeThePatternIsMatched) {
  json bad = minimal_entry("a");
  bad["id"] = std::string(200000, 'a');
  bad["onnx"] = std::string(100000, 'b') + ".onnx";
  bad["notes"] = std::string(reg::kMaxSchemaString + 1, 'n');
  std::string e = all_errors(doc_with({bad}));
  EXPECT_NE(e.find("models[0].id: a string of 200000 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("models[0].onnx: a string of 100005 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("models[0].notes: a string of 1025 bytes"), std::string::npos) << e;
  EXPECT_EQ(e.find("does not match the pattern"), std::string::npos) << "no second message: " << e;
  // A key of 200 000 characters: named in a path of at most 200 bytes.
  bad = minimal_entry("a");
  bad[std::string(200000, 'k')] = 1;
  e = all_errors(doc_with({bad}));
  EXPECT_NE(e.find("models[0].kkkk"), std::string::npos) << e.substr(0, 300);
  EXPECT_NE(e.find("...: unknown field"), std::string::npos) << e.substr(0, 300);
  EXPECT_LT(e.size(), 1000u) << e.substr(0, 300);
  // At the bound the schema's own rule speaks.
  bad = minimal_entry("a");
  bad["notes"] = std::string(reg::kMaxSchemaString, 'n');
  e = all_errors(doc_with({bad}));
  EXPECT_NE(e.find("models[0].notes: 1024 characters, at most 512 allowed"), std::string::npos) << e;
  // A registry file is read only up to its size limit.
  fs::path dir = temp_dir("registry-huge-string");
  write_text(dir / "r.json", doc_with({minimal_entry("a")}));
  try {
    read_file((dir / "r.json").string(), 16);
    FAIL() << "read past the limit";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("more than the 16"), std::string::npos) << err.what();
  }
}

TEST(RegistryBadInput, RefusedWritesChangeNothing) {
  fs::path dir = temp_dir("registry-refused-write");
  write_text(dir / "r.json", doc_with({minimal_entry("a")}));
  const std::string before = text_of(dir / "r.json");
  reg::Registry r = reg::load_registry((dir / "r.json").string());
  r.models.push_back(r.models[0]);  // duplicate id
  EXPECT_THROW(reg::save_registry(r), Error);
  r.models.pop_back();
  r.models[0].quant_accuracy_budget_plcc = -0.5;
  EXPECT_THROW(reg::save_registry(r), Error);
  r.models[0].quant_accuracy_budget_plcc.reset();
  r.models[0].sha256 = "ABC";
  EXPECT_THROW(reg::save_registry(r), Error);
  EXPECT_EQ(text_of(dir / "r.json"), before);
  EXPECT_THROW(handoff::set_field(r, "a", "quant_accuracy_budget_plcc", "2"), Error);
  EXPECT_THROW(handoff::set_field(r, "a", "quant_mode", "int4"), Error);
  EXPECT_THROW(handoff::set_field(r, "a", "colour", "x"), Error);
  EXPECT_THROW(handoff::set_field(r, "nope", "notes", "x"), Error);
}

// A process killed while it rewrites the registry leaves the previous registry (or the new one), complete
// and loadable — never a torn file.
TEST(RegistryBadInput, KilledDuringWriteLeavesAValidRegistry) {
  fs::path dir = temp_dir("registry-kill");
  const fs::path path = dir / "registry.json";
  std::vector<json> models;
  for (int i = 0; i < 400; ++i) {
    json e = minimal_entry(fmt::format("m{}", i));
    e["notes"] = std::string(400, 'n');
    models.push_back(e);
  }
  write_text(path, doc_with(models));
  reg::Registry base = reg::load_registry(path.string());
  Rng rng(7);
  int completed_versions = 0;
  for (int round = 0; round < 12; ++round) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      reg::Registry r = base;
      for (int k = 0;; ++k) {
        r.models[0].notes = fmt::format("version {}", k);
        reg::save_registry(r);
      }
    }
    if (round == 0) {
      // Under load the child may need longer than any fixed delay to finish one write: the first round
      // waits for a completed write (up to 30 s) so that the test always proves something.
      for (int waited = 0; waited < 30000; waited += 5) {
        ::usleep(5000);
        if (reg::load_registry(path.string()).models[0].notes != std::string(400, 'n')) break;
      }
    }
    ::usleep(2000 + rng.next() % 20000);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    reg::Registry r = reg::load_registry(path.string());  // throws if torn
    EXPECT_EQ(r.models.size(), 400u);
    if (r.models[0].notes != std::string(400, 'n')) ++completed_versions;
  }
  EXPECT_GT(completed_versions, 0) << "the child never finished a write: the test proved nothing";
}

// ---------------------------------------------------------------------------------------------------
// The decision and the session

TEST(Resolve, EveryDecisionAndRefusal) {
  Models m = make_models("resolve");
  fs::path dir = temp_dir("resolve-reg");
  fs::path rp = dir / "registry.json";
  handoff::register_artifact(artifact(rp, "lf", m, m.statik, "static"));
  auto a = artifact(rp, "plain", m, "", "fp32");
  handoff::register_artifact(a);
  reg::Registry r = reg::load_registry(rp.string());
  auto decide = [&](const std::string& id, bool prefer = false) {
    return reg::resolve(r, id, prefer).decision;
  };
  EXPECT_EQ(decide("lf").reason, reg::Reason::Int8Unmeasured);
  EXPECT_EQ(decide("lf").variant, reg::Variant::Int8);
  EXPECT_DOUBLE_EQ(decide("lf").budget, 0.005);
  EXPECT_EQ(decide("lf", true).reason, reg::Reason::Fp32Preferred);
  EXPECT_EQ(decide("plain").reason, reg::Reason::Fp32Entry);
  EXPECT_THROW(decide("nosuch"), Error);

  // A measurement for another int8 file is not this file's: ignored (unmeasured).
  const reg::Entry& e = r.at("lf");
  reg::Measurement meas{0.5, 0.005, "2026-01-01T00:00:00Z", std::string(64, 'c'), "x", 1};
  reg::write_sidecar(r, e, meas);
  EXPECT_EQ(decide("lf").reason, reg::Reason::Int8Unmeasured);
  meas.int8_sha256 = *e.int8_sha256;
  reg::write_sidecar(r, e, meas);
  EXPECT_EQ(decide("lf").reason, reg::Reason::Int8OverBudget);
  EXPECT_EQ(decide("lf").variant, reg::Variant::Fp32);
  meas.drop_plcc = 0.001;
  reg::write_sidecar(r, e, meas);
  EXPECT_EQ(decide("lf").reason, reg::Reason::Int8WithinBudget);
  write_text(r.sidecar_path(e), "{ not json");
  EXPECT_EQ(decide("lf").reason, reg::Reason::MeasurementUnreadable);
  EXPECT_THROW(reg::write_sidecar(r, e, std::nullopt), Error);  // never clobbers an unreadable sidecar
}

TEST(Resolve, AlteredFilesFallBackOrAreRefused) {
  Models m = make_models("resolve-altered");
  fs::path rp = temp_dir("resolve-altered-reg") / "registry.json";
  handoff::register_artifact(artifact(rp, "lf", m, m.dynamic, "dynamic"));
  reg::Registry r = reg::load_registry(rp.string());
  const reg::Entry& e = r.at("lf");
  const std::string int8 = text_of(r.int8_path(e)), fp32 = text_of(r.onnx_path(e));
  write_text(r.int8_path(e), int8 + "x");
  EXPECT_EQ(reg::resolve(r, "lf", false).decision.reason, reg::Reason::Int8DigestMismatch);
  fs::remove(r.int8_path(e));
  reg::Resolved res = reg::resolve(r, "lf", false);
  EXPECT_EQ(res.decision.reason, reg::Reason::Int8Missing);
  EXPECT_EQ(sha256_hex(res.bytes), e.sha256);  // the fp32 bytes that were verified
  write_text(r.int8_path(e), int8);
  write_text(r.onnx_path(e), fp32 + "x");
  try {
    reg::resolve(r, "lf", false);
    FAIL() << "an altered fp32 file was accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("refusing to load"), std::string::npos) << err.what();
  }
  try {
    Session::open(rp.string(), "lf");
    FAIL();
  } catch (const OpenError& err) {
    EXPECT_EQ(err.stage, OpenError::Stage::Digest);
  }
  fs::remove(r.onnx_path(e));
  EXPECT_THROW(reg::resolve(r, "lf", false), Error);
}

// Executor::run holds no per-run state in kernels and the pool serialises parallel sections, so one
// session serves several threads at once; results are identical to a lone run.
TEST(Session, ConcurrentRunsFromFourThreadsAgreeWithALoneRun) {
  Models m = make_models("session-concurrent");
  fs::path rp = temp_dir("session-concurrent-reg") / "registry.json";
  handoff::register_artifact(artifact(rp, "st", m, m.statik, "static"));
  handoff::register_artifact(artifact(rp, "dyn", m, m.dynamic, "dynamic"));
  auto fp = artifact(rp, "fp", m, "", "fp32");
  handoff::register_artifact(fp);
  for (const char* id : {"st", "dyn", "fp"}) {
    for (int threads : {1, 3}) {
      auto s = Session::open(rp.string(), id, {threads, false, /*force_int8=*/true});
      EXPECT_EQ(s->decision().variant, std::string(id) == "fp" ? reg::Variant::Fp32 : reg::Variant::Int8);
      std::vector<Tensor> inputs;
      std::vector<std::vector<float>> expect;
      for (int k = 0; k < 4; ++k) {
        inputs.push_back(luma_images(1 + k % 2, 24 + 8 * k, 32, 100 + k));
        Tensor y = s->run({{"degraded", inputs.back()}})[0];
        expect.emplace_back(y.data<float>(), y.data<float>() + y.numel());
      }
      std::atomic<int> mismatches{0};
      std::vector<std::thread> pool;
      for (int t = 0; t < 4; ++t)
        pool.emplace_back([&, t] {
          for (int i = 0; i < 20; ++i) {
            int k = (t + i) % 4;
            Tensor y = s->run({{"degraded", inputs[k]}})[0];
            const auto& want = expect[k];
            if (static_cast<size_t>(y.numel()) != want.size() ||
                std::memcmp(y.data<float>(), want.data(), want.size() * sizeof(float)) != 0)
              ++mismatches;
          }
        });
      for (auto& th : pool) th.join();
      EXPECT_EQ(mismatches.load(), 0) << id << " with " << threads << " threads";
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The gate and the handoff

TEST(Gate, PassFailSkipErrorAndExitCodes) {
  Models m = make_models("gate");
  fs::path dir = temp_dir("gate-reg");
  fs::path rp = dir / "registry.json";
  handoff::register_artifact(artifact(rp, "dyn", m, m.dynamic, "dynamic"));
  auto st = artifact(rp, "tight", m, m.statik, "static");
  st.budget = 0.0;
  handoff::register_artifact(st);
  handoff::register_artifact(artifact(rp, "plain", m, "", "fp32"));
  reg::Registry r = reg::load_registry(rp.string());
  handoff::GateOptions g;
  g.data = m.data.string();
  g.plots_dir = (dir / "plots").string();
  g.record = true;
  handoff::GateReport rep = handoff::run_gate(r, {}, g);
  ASSERT_EQ(rep.results.size(), 3u);
  EXPECT_EQ(rep.results[0].status, handoff::GateStatus::Pass) << handoff::gate_text(rep);
  EXPECT_GT(rep.results[0].drop, 0.0);
  EXPECT_LT(rep.results[0].drop, 0.01);
  EXPECT_EQ(rep.results[1].status, handoff::GateStatus::Fail);
  EXPECT_EQ(rep.results[2].status, handoff::GateStatus::Skip);
  EXPECT_EQ(rep.exit_code(), 1);
  std::string text = handoff::gate_text(rep);
  for (const char* want : {"PASS  dyn", "FAIL  tight", "SKIP  plain", "PLCC", "SROCC", "RMSE", "max|diff|"})
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  json j = json::parse(handoff::gate_json(rep));
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["models"][1]["status"], "FAIL");
  EXPECT_NE(handoff::gate_markdown(rep).find("| dyn | dynamic | **PASS** |"), std::string::npos);
  // One PNG per measured model.
  for (const char* id : {"dyn", "tight"}) {
    std::string png = text_of(dir / "plots" / (std::string(id) + ".scatter.png"));
    ASSERT_GT(png.size(), 8u);
    EXPECT_EQ(png.substr(1, 3), "PNG");
  }
  EXPECT_FALSE(fs::exists(dir / "plots" / "plain.scatter.png"));
  // Two panels (scatter, residual) in one picture; the filter's output also as a picture of the frame.
  for (const auto& [file, min_cols] : {std::pair{"dyn.scatter.png", 1400}, std::pair{"dyn.frame.png", 900}}) {
    SCOPED_TRACE(file);
    const auto bytes = read_file((dir / "plots" / file).string());
    ASSERT_GT(bytes.size(), 24u);
    const int cols = (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19];  // IHDR width
    EXPECT_GE(cols, min_cols);
  }
  EXPECT_EQ(rep.results[0].frame_plot, (dir / "plots" / "dyn.frame.png").string());
  // Recorded: the runtime now knows "tight" is over budget and falls back.
  EXPECT_EQ(reg::resolve(r, "tight", false).decision.reason, reg::Reason::Int8OverBudget);
  EXPECT_EQ(reg::resolve(r, "dyn", false).decision.reason, reg::Reason::Int8WithinBudget);
  // Data without the model's input: an error for that model, exit 2.
  fs::path wrong = dir / "wrong.npz";
  write_npz(wrong.string(), {{"features", Tensor::zeros(DType::F32, {4, 6})}}, false);
  g.data = wrong.string();
  g.plots_dir.clear();
  rep = handoff::run_gate(r, {"dyn"}, g);
  EXPECT_EQ(rep.results[0].status, handoff::GateStatus::Error);
  EXPECT_NE(rep.results[0].message.find("no array named 'degraded'"), std::string::npos)
      << rep.results[0].message;
  EXPECT_EQ(rep.exit_code(), 2);
}

TEST(Handoff, RegistersCopiesAndMeasures) {
  Models m = make_models("handoff");
  fs::path dir = temp_dir("handoff-reg");
  fs::path rp = dir / "models" / "registry.json";
  fs::create_directories(rp.parent_path());
  write_text(m.dir / "lf.json", R"({"id": "old", "input_name": "degraded", "kind": "filter"})");
  auto a = artifact(rp, "lf-v1", m, m.statik, "static");
  a.eval_data = m.data.string();
  a.calibration_set = "calib.npz";
  handoff::Registered got = handoff::register_artifact(a);
  EXPECT_EQ(got.entry.kind, "filter");  // from the shapes
  ASSERT_TRUE(got.measurement);
  reg::Registry r = reg::load_registry(rp.string());
  const reg::Entry& e = r.at("lf-v1");
  EXPECT_EQ(e.onnx, "lf-v1.onnx");
  EXPECT_EQ(e.sha256, sha256_file(m.fp32.string()));
  EXPECT_EQ(*e.int8_sha256, sha256_file(m.statik.string()));
  EXPECT_EQ(sha256_file(r.int8_path(e).string()), *e.int8_sha256);
  EXPECT_EQ(e.opset, 17);
  json side = json::parse(text_of(r.sidecar_path(e)));
  EXPECT_EQ(side["id"], "lf-v1");
  EXPECT_EQ(side["input_name"], "degraded");  // kept from the source sidecar
  EXPECT_EQ(side["quant_measurement"]["int8_sha256"], *e.int8_sha256);
  EXPECT_FALSE(side["quant_measurement"]["measured_at"].get<std::string>().empty());
  EXPECT_EQ(reg::resolve(r, "lf-v1", false).decision.reason, reg::Reason::Int8WithinBudget);

  // Refusals change nothing: a bad id, a bad budget, an int8 model with quant_mode fp32, an id that exists.
  const std::string before = text_of(rp);
  auto bad = a;
  bad.id = "Bad Id";
  EXPECT_THROW(handoff::register_artifact(bad), Error);
  bad = a;
  bad.budget = 1.5;
  EXPECT_THROW(handoff::register_artifact(bad), Error);
  bad = a;
  bad.quant_mode = "fp32";
  EXPECT_THROW(handoff::register_artifact(bad), Error);
  bad = a;
  bad.replace = false;
  EXPECT_THROW(handoff::register_artifact(bad), Error);
  EXPECT_EQ(text_of(rp), before);

  // Re-registering with the dynamic model updates the entry in place.
  auto again = artifact(rp, "lf-v1", m, m.dynamic, "dynamic");
  handoff::register_artifact(again);
  r = reg::load_registry(rp.string());
  EXPECT_EQ(r.models.size(), 1u);
  EXPECT_EQ(r.at("lf-v1").mode(), "dynamic");
  EXPECT_EQ(*r.at("lf-v1").int8_sha256, sha256_file(m.dynamic.string()));
  EXPECT_EQ(reg::resolve(r, "lf-v1", false).decision.reason,
            reg::Reason::Int8Unmeasured);  // stale measurement
}

// The `--register R.json --id ID` options a quantizing command adds (handoff_cli.h), parsed as the CLI
// would, then the handoff after the int8 file is written.
TEST(Handoff, CommandLineOptionsOfPtq) {
  Models m = make_models("handoff-cli");
  fs::path rp = temp_dir("handoff-cli-reg") / "registry.json";
  auto parse = [&](std::vector<std::string> args) {
    CLI::App app;
    auto* sub = app.add_subcommand("ptq");
    auto h = cli::add_handoff_options(sub);
    args.insert(args.begin(), "ptq");
    std::reverse(args.begin(), args.end());
    app.parse(args);
    return h;
  };
  auto h = parse({"--register", rp.string(), "--id", "lf", "--eval", m.data.string(), "--license", "MIT"});
  cli::run_handoff(*h, m.fp32.string(), m.statik.string(), "static", "calib.npz");
  reg::Registry r = reg::load_registry(rp.string());
  EXPECT_EQ(r.at("lf").mode(), "static");
  EXPECT_EQ(r.at("lf").quant_calibration_set, "calib.npz");
  EXPECT_EQ(reg::resolve(r, "lf", false).decision.reason, reg::Reason::Int8WithinBudget);
  EXPECT_THROW(parse({"--register", rp.string()}), CLI::ParseError);                    // --id missing
  EXPECT_THROW(parse({"--register", rp.string(), "--id", "Bad Id"}), CLI::ParseError);  // not the schema's id
  EXPECT_THROW(parse({"--register", rp.string(), "--id", "x", "--budget", "2"}), CLI::ParseError);
  cli::run_handoff(*parse({}), m.fp32.string(), m.statik.string(), "static");  // no --register: nothing
}

TEST(Ladder, KeepsTheCheapestRungWithinBudgetAndReportsQat) {
  Model fp32 = zoo::learned_filter(1, 8, 2, 5);
  NamedTensors eval = {{"degraded", luma_images(4, 32, 32, 21)}};
  NamedTensors calib = {{"degraded", luma_images(8, 32, 32, 22)}};
  quant::LadderOptions lo;
  lo.budget = 0.01;
  lo.objective = quant::Objective::Effort;  // the seed's order, and no timing: a deterministic ladder
  lo.latency_iterations = 0;
  quant::LadderResult r = quant::run_ladder(fp32, eval, calib, lo);
  EXPECT_EQ(r.chosen, "dynamic");
  ASSERT_EQ(r.rungs.size(), 4u);
  for (size_t i = 1; i < 4; ++i) EXPECT_FALSE(r.rungs[i].tried) << r.rungs[i].mode << " is not needed";
  lo.budget = 0.0;
  r = quant::run_ladder(fp32, eval, calib, lo);
  EXPECT_EQ(r.chosen, "");
  ASSERT_EQ(r.rungs.size(), 4u);
  EXPECT_TRUE(r.rungs[1].tried);
  EXPECT_EQ(r.rungs[2].mode, "mixed");
  EXPECT_TRUE(r.rungs[2].tried);
  EXPECT_EQ(r.rungs[3].mode, "qat");
  EXPECT_FALSE(r.rungs[3].tried);
  EXPECT_NE(quant::ladder_text(r, 0.0).find("stays fp32"), std::string::npos);
  r = quant::run_ladder(fp32, eval, {}, lo);
  EXPECT_FALSE(r.rungs[1].tried);  // no calibration: static skipped
  lo.budget = 3;
  EXPECT_THROW(quant::run_ladder(fp32, eval, calib, lo), Error);
}

// The ladder as a library call on files (handoff/quantize.h) with a QAT rung injected the way the command
// line injects the trainer's: the rung sees the calibration inputs, its model is written to the int8 twin
// and registered with the drop the ladder measured; a rung that refuses the model is skipped with its
// reason; nothing fits → nothing written and an fp32 entry.
TEST(Quantize, RunsTheLadderWritesTheTwinAndRegisters) {
  Models m = make_models("quantize-lib");
  const fs::path calib = m.dir / "calib.npz";
  write_npz(calib.string(), {{"degraded", luma_images(8, 32, 32, 31)}, {"clean", luma_images(8, 32, 32, 32)}},
            false);
  const fs::path rp = temp_dir("quantize-lib-reg") / "registry.json";
  handoff::QuantizeJob job;
  job.model = m.fp32.string();
  job.data = m.data.string();
  job.calibration = calib.string();
  job.registry = rp.string();
  job.id = "lq";
  job.license = "MIT";
  job.ladder.objective = quant::Objective::Effort;  // the seed's order, no timing: deterministic choices
  job.ladder.latency_iterations = 0;
  job.ladder.mixed = false;
  job.ladder.budget = 0.0;  // no PTQ rung fits: only the injected "QAT" (the fp32 model itself) does
  int64_t seen = 0;
  quant::QatRung rung;
  rung.run = [&](const Model& fp32, const NamedTensors& c) {
    seen = c.at(0).second.dim(0);
    EXPECT_EQ(c.size(), 1u) << "the rung gets the model's inputs only";
    return quant::ptq_dynamic(fp32, {}, nullptr);
  };
  job.ladder.qat = rung;
  handoff::QuantizeOutcome out = handoff::quantize_model(job);
  EXPECT_EQ(seen, 8);
  ASSERT_EQ(out.ladder.rungs.size(), 4u);
  EXPECT_TRUE(out.ladder.rungs[3].tried);
  // The dynamic model's drop is not 0: even the injected rung misses a zero budget.
  EXPECT_EQ(out.ladder.chosen, "");
  EXPECT_TRUE(out.written.empty());
  EXPECT_FALSE(fs::exists(int8_twin(m.fp32.string())));
  ASSERT_TRUE(out.registered);
  EXPECT_EQ(reg::load_registry(rp.string()).at("lq").mode(), "fp32");

  job.ladder.budget = 0.5;
  job.ladder.static_config.exclude = {"no_such_node"};
  EXPECT_THROW(handoff::quantize_model(job), Error);
  job.ladder.static_config.exclude.clear();
  out = handoff::quantize_model(job);
  EXPECT_EQ(out.ladder.chosen, "dynamic");
  EXPECT_EQ(out.written, int8_twin(m.fp32.string()));
  reg::Registry r = reg::load_registry(rp.string());
  EXPECT_EQ(r.at("lq").mode(), "dynamic");
  EXPECT_EQ(*r.at("lq").int8_sha256, sha256_file(out.written));
  EXPECT_EQ(reg::resolve(r, "lq", false).decision.reason, reg::Reason::Int8WithinBudget);

  job.ladder.budget = 0.0;
  job.registry.clear();
  rung.refuses = [](const Model&) { return std::string("not this one"); };
  job.ladder.qat = rung;
  out = handoff::quantize_model(job);
  EXPECT_FALSE(out.ladder.rungs[3].tried);
  EXPECT_EQ(out.ladder.rungs[3].message, "skipped: not this one");
  job.calibration.clear();
  out = handoff::quantize_model(job);
  EXPECT_FALSE(out.ladder.rungs[1].tried);
  EXPECT_NE(out.ladder.rungs[3].message.find("no --calibration"), std::string::npos);
}

TEST(RegistryCli, ExitCodesAndMessages) {
  Models m = make_models("registry-cli");
  fs::path dir = temp_dir("registry-cli-reg");
  const std::string rp = (dir / "registry.json").string();
  std::string err;
  EXPECT_EQ(run_cli(fmt::format("registry add '{}' --id lf --onnx '{}' --int8 '{}' --license MIT", rp,
                                m.fp32.string(), m.dynamic.string()),
                    &err),
            0)
      << err;
  EXPECT_EQ(run_cli(fmt::format("registry validate '{}'", rp), &err), 0) << err;
  EXPECT_EQ(run_cli(fmt::format("resolve --registry '{}' --id lf", rp), &err), 0) << err;
  EXPECT_EQ(run_cli(fmt::format("measure lf --registry '{}' --data '{}'", rp, m.data.string()), &err), 0)
      << err;
  EXPECT_EQ(run_cli(fmt::format("measure '{}' --registry '{}' --data '{}'", (dir / "lf.int8.onnx").string(),
                                rp, m.data.string()),
                    &err),
            0)
      << err;
  EXPECT_EQ(run_cli(fmt::format("registry set '{}' lf quant_accuracy_budget_plcc=0", rp), &err), 0) << err;
  EXPECT_EQ(run_cli(fmt::format("measure --all --registry '{}' --data '{}'", rp, m.data.string()), &err), 1)
      << err;
  EXPECT_EQ(run_cli(fmt::format("registry set '{}' lf quant_accuracy_budget_plcc=7", rp), &err), 2);
  EXPECT_NE(err.find("outside [0, 1]"), std::string::npos) << err;
  EXPECT_EQ(run_cli(fmt::format("resolve --registry '{}' --id nosuch", rp), &err), 2);
  EXPECT_NE(err.find("no model with id 'nosuch' (known: lf)"), std::string::npos) << err;
  EXPECT_EQ(run_cli(fmt::format("measure nosuch --registry '{}' --data '{}'", rp, m.data.string()), &err), 2);
  // A broken registry: each violation on its own line, exit 2, for every command.
  const std::string bad = (dir / "bad.json").string();
  write_text(bad, doc_with({minimal_entry("a"), minimal_entry("a")}));
  EXPECT_EQ(run_cli(fmt::format("registry validate '{}'", bad), &err), 2);
  EXPECT_NE(err.find("duplicate id 'a'"), std::string::npos) << err;
  write_text(bad, "[1, 2");
  for (const std::string& cmd :
       {fmt::format("registry validate '{}'", bad), fmt::format("registry show '{}'", bad),
        fmt::format("resolve --registry '{}' --id a", bad),
        fmt::format("measure --all --registry '{}' --data x.npz", bad)}) {
    EXPECT_EQ(run_cli(cmd, &err), 2) << cmd;
    EXPECT_NE(err.find("not JSON"), std::string::npos) << cmd << ": " << err;
  }
  // The ladder: nothing fits a zero budget → exit 1 and an fp32 entry; a loose budget keeps dynamic.
  const std::string q =
      fmt::format("quantize '{}' --data '{}' --register '{}' ", m.fp32.string(), m.data.string(), rp);
  EXPECT_EQ(run_cli(q + "--id lq --budget 0 -o " + (dir / "lq.int8.onnx").string(), &err), 1) << err;
  EXPECT_EQ(reg::load_registry(rp).at("lq").mode(), "fp32");
  EXPECT_EQ(run_cli(q + "--id lq --budget 0.01 -o " + (dir / "lq.int8.onnx").string(), &err), 0) << err;
  EXPECT_EQ(reg::load_registry(rp).at("lq").mode(), "dynamic");
  // The table as JSON: the objective, fp32's and each rung's latency and size.
  const fs::path jo = dir / "ladder.json";
  EXPECT_EQ(run_cli(q + "--id lq --budget 0.01 --objective effort --latency-iterations 1 --json-out " +
                        jo.string() + " -o " + (dir / "lq.int8.onnx").string(),
                    &err),
            0)
      << err;
  const json lj = json::parse(text_of(jo));
  EXPECT_EQ(lj["objective"], "effort");
  EXPECT_EQ(lj["chosen"], "dynamic");
  EXPECT_TRUE(lj["fp32"]["latency_ms"].is_number());
  EXPECT_GT(lj["fp32"]["size_bytes"].get<int64_t>(), 0);
  EXPECT_TRUE(lj["rungs"][0]["latency_ms"].is_number());
  EXPECT_EQ(run_cli(q + "--id lq --budget 0.01 --objective fastest", &err), 2);
  EXPECT_EQ(run_cli(q + "--id lq --budget 0.01 --json --markdown", &err), 2);
  EXPECT_EQ(run_cli(q + "--id lq --budget 0.01 --no-mixed", &err), 2);  // without --calibration
  EXPECT_NE(err.find("--no-mixed: not used without --calibration"), std::string::npos) << err;
  EXPECT_EQ(run_cli(q + "--id lq --budget 2", &err), 2);
  // Files altered after registration: validate names them.
  write_text(dir / "lf.onnx", "x");
  EXPECT_EQ(run_cli(fmt::format("registry validate '{}'", rp), &err), 2);
  EXPECT_NE(err.find("fp32 file"), std::string::npos) << err;
}

// The fork's own files: a registry made from its sidecars (unchanged: the registry fields are taken as
// they are) validates, and every model resolves and runs.
TEST(Registry, ForkModelsFromTheirSidecars) {
  fs::path shared = shared_dir();
  if (shared.empty())
    GTEST_SKIP() << "SKIP ../shared/fork-models not found: the fork's registry is not checked";
  fs::path fork = shared / "fork-models";
  fs::path dir = temp_dir("fork-registry");
  json models = json::array();
  const std::set<std::string> fields = {"id",
                                        "kind",
                                        "onnx",
                                        "sha256",
                                        "opset",
                                        "notes",
                                        "smoke",
                                        "quant_mode",
                                        "quant_calibration_set",
                                        "int8_sha256",
                                        "quant_accuracy_budget_plcc",
                                        "license"};
  for (const char* name : {"learned_filter_v1", "nr_metric_v1", "vmaf_tiny_v2", "vmaf_tiny_v4"}) {
    json side = json::parse(text_of(fork / (std::string(name) + ".json")));
    json e = json::object();
    for (auto it = side.begin(); it != side.end(); ++it)
      if (fields.count(it.key())) e[it.key()] = it.value();
    e["license"] = "BSD-3-Clause-Plus-Patent";
    models.push_back(e);
    for (const std::string& f :
         {std::string(name) + ".onnx", std::string(name) + ".int8.onnx", std::string(name) + ".json"})
      if (fs::exists(fork / f)) fs::copy_file(fork / f, dir / f);
  }
  const fs::path rp = dir / "registry.json";
  write_text(rp, json{{"schema_version", 1}, {"models", models}}.dump(2));
  reg::Registry r = reg::load_registry(rp.string());
  ASSERT_EQ(r.models.size(), 4u);
  std::map<std::string, reg::Reason> want = {{"learned_filter_v1", reg::Reason::Int8Unmeasured},
                                             {"nr_metric_v1", reg::Reason::Int8Unmeasured},
                                             {"vmaf_tiny_v2", reg::Reason::Fp32Entry},
                                             {"vmaf_tiny_v4", reg::Reason::Int8Unmeasured}};
  for (const auto& [id, reason] : want) {
    // The registry's rules alone (force_int8), then as a plain session on this CPU: the same, or fp32
    // because the int8 file is predicted slower here (the fork's dynamic nr_metric_v1 is: 2.2x measured).
    auto forced = Session::open(rp.string(), id, {1, false, /*force_int8=*/true});
    EXPECT_EQ(forced->decision().reason, reason) << id << ": " << forced->decision().text;
    auto s = Session::open(rp.string(), id);
    if (s->decision().reason == reg::Reason::Int8SlowerOnThisCpu) {
      EXPECT_EQ(reason, reg::Reason::Int8Unmeasured) << id;
      EXPECT_EQ(s->decision().variant, reg::Variant::Fp32) << id;
      EXPECT_NE(s->decision().text.find("predicted to take"), std::string::npos) << s->decision().text;
    } else {
      EXPECT_EQ(s->decision().reason, reason) << id << ": " << s->decision().text;
    }
  }
  EXPECT_DOUBLE_EQ(r.at("nr_metric_v1").budget(), 0.01);
  // The gate on real features: vmaf_tiny_v4's dynamic int8 is within its 0.01 budget.
  fs::path feats = dir / "features.npz";
  {
    std::ifstream csv(shared / "data" / "nflx_sv_features.csv");
    std::string line;
    std::getline(csv, line);
    std::vector<float> v;
    int64_t n = 0;
    while (std::getline(csv, line)) {
      std::stringstream ss(line);
      std::string cell;
      for (int k = 0; k < 6 && std::getline(ss, cell, ','); ++k) v.push_back(std::stof(cell));
      ++n;
    }
    write_npz(feats.string(), {{"features", Tensor::from_f32({n, 6}, v)}}, false);
  }
  handoff::GateOptions g;
  g.data = feats.string();
  handoff::GateReport rep = handoff::run_gate(r, {"vmaf_tiny_v4", "vmaf_tiny_v2"}, g);
  EXPECT_EQ(rep.results[0].status, handoff::GateStatus::Pass) << handoff::gate_text(rep);
  EXPECT_LT(rep.results[0].drop, 1e-3);
  EXPECT_EQ(rep.results[1].status, handoff::GateStatus::Skip);
  EXPECT_EQ(rep.exit_code(), 0);
}

// ---------------------------------------------------------------------------------------------------
// Hostile registries and sidecars: refused with a named violation, never a signal.

std::string nested(int depth) {
  return std::string(static_cast<size_t>(depth), '[') + std::string(static_cast<size_t>(depth), ']');
}

TEST(RegistryBadInput, DeepNestingIsRefusedWhileParsing) {
  // 100 000 levels (200 KB): refused by the parser, before anything recurses over it.
  std::string deep = R"({"schema_version": 1, "models": [{"id": "a", "notes": )" + nested(100000) + "}]}";
  std::string e = all_errors(deep);
  EXPECT_NE(e.find("nested deeper than 64 levels"), std::string::npos) << e.substr(0, 300);
  EXPECT_NE(e.find("models[0].notes"), std::string::npos) << e.substr(0, 300);
  // 64 levels is still JSON (the schema then refuses the value, printed without recursing).
  std::string ok = R"({"schema_version": 1, "models": [{"id": "a", "notes": )" + nested(61) + "}]}";
  e = all_errors(ok);
  EXPECT_EQ(e.find("nested deeper"), std::string::npos) << e;
  EXPECT_NE(e.find("models[0].notes: expected a string, got an array [[...]]"), std::string::npos) << e;

  fs::path dir = temp_dir("registry-deep");
  write_text(dir / "registry.json", deep);
  std::string err;
  for (const std::string& cmd :
       {fmt::format("registry validate '{}'", (dir / "registry.json").string()),
        fmt::format("resolve --registry '{}' --id a", (dir / "registry.json").string())}) {
    EXPECT_EQ(run_cli(cmd, &err), 2) << cmd;
    EXPECT_NE(err.find("nested deeper than 64 levels"), std::string::npos) << err.substr(0, 300);
  }

  // Through the C API, on a 256 KiB thread stack, a 5 000-level registry is a status, not a crash.
  write_text(dir / "r5000.json", R"({"schema_version": 1, "models": )" + nested(5000) + "}");
  struct Arg {
    std::string path;
    tq_status st = TQ_OK;
    std::string msg;
  } arg;
  arg.path = (dir / "r5000.json").string();
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t th;
  ASSERT_EQ(pthread_create(
                &th, &attr,
                [](void* p) -> void* {
                  auto* a = static_cast<Arg*>(p);
                  tq_session* s = nullptr;
                  a->st = tq_session_open(a->path.c_str(), "a", nullptr, &s);
                  a->msg = tq_last_error();
                  if (s) tq_session_close(s);
                  return nullptr;
                },
                &arg),
            0);
  pthread_join(th, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_EQ(arg.st, TQ_ERR_REGISTRY) << arg.msg;
  EXPECT_NE(arg.msg.find("nested deeper"), std::string::npos) << arg.msg.substr(0, 300);

  // A sidecar nested too deep: the measurement is unreadable (named), the runtime falls back.
  Models m = make_models("registry-deep-models");
  fs::path rp = dir / "models" / "registry.json";
  handoff::register_artifact(artifact(rp, "lf", m, m.dynamic, "dynamic"));
  reg::Registry r = reg::load_registry(rp.string());
  write_text(r.sidecar_path(r.at("lf")), R"({"x": )" + nested(100000) + "}");
  EXPECT_EQ(reg::resolve(r, "lf", false).decision.reason, reg::Reason::MeasurementUnreadable);
  auto v = reg::check_files(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].message.find("sidecar: x[0][0]"), std::string::npos) << v[0].message;
  EXPECT_NE(v[0].message.find("...: nested deeper than 64 levels"), std::string::npos) << v[0].message;
}

TEST(RegistryBadInput, DuplicateKeysAreRefused) {
  std::string doc = R"({"schema_version": 1, "models": [{"id": "a", "kind": "fr", "onnx": "a.onnx",
      "sha256": ")" +
                    kHexA + R"(", "sha256": ")" + std::string(64, 'b') + R"(", "license": "MIT"}]})";
  std::string e = all_errors(doc);
  EXPECT_NE(e.find("models[0].sha256: duplicate key 'sha256'"), std::string::npos) << e;
  e = all_errors(R"({"schema_version": 1, "schema_version": 1, "models": []})");
  EXPECT_NE(e.find("schema_version: duplicate key"), std::string::npos) << e;
  // The same key in two objects is fine.
  EXPECT_TRUE(reg::validate_text(doc_with({minimal_entry("a"), minimal_entry("b")})).errors.empty());

  Models m = make_models("registry-dupkey-models");
  fs::path rp = temp_dir("registry-dupkey") / "registry.json";
  handoff::register_artifact(artifact(rp, "lf", m, m.dynamic, "dynamic"));
  reg::Registry r = reg::load_registry(rp.string());
  const reg::Entry& en = r.at("lf");
  write_text(r.sidecar_path(en),
             R"({"quant_measurement": {"drop_plcc": 0.5, "drop_plcc": 0.0, "int8_sha256": ")" +
                 *en.int8_sha256 + R"("}})");
  EXPECT_EQ(reg::resolve(r, "lf", false).decision.reason, reg::Reason::MeasurementUnreadable);
  std::string err;
  EXPECT_EQ(run_cli(fmt::format("registry validate '{}'", rp.string()), &err), 2);
  EXPECT_NE(err.find("quant_measurement.drop_plcc: duplicate key 'drop_plcc'"), std::string::npos) << err;
}

TEST(RegistryBadInput, MeasurementOutsideZeroToTwoIsRefused) {
  Models m = make_models("registry-drop-models");
  fs::path rp = temp_dir("registry-drop") / "registry.json";
  handoff::register_artifact(artifact(rp, "lf", m, m.dynamic, "dynamic"));
  reg::Registry r = reg::load_registry(rp.string());
  const reg::Entry& en = r.at("lf");
  for (const std::string bad : {R"("drop_plcc": -1e300)", R"("drop_plcc": -0.001)", R"("drop_plcc": 2.5)",
                                R"("drop_plcc": 0.0, "budget_plcc": -1)"}) {
    write_text(r.sidecar_path(en),
               R"({"quant_measurement": {)" + bad + R"(, "int8_sha256": ")" + *en.int8_sha256 + R"("}})");
    EXPECT_EQ(reg::resolve(r, "lf", false).decision.reason, reg::Reason::MeasurementUnreadable) << bad;
    auto v = reg::check_files(r);
    ASSERT_EQ(v.size(), 1u) << bad;
    EXPECT_NE(v[0].message.find("is outside [0, 2]"), std::string::npos) << v[0].message;
  }
  write_text(r.sidecar_path(en),
             R"({"quant_measurement": {"drop_plcc": 2e-5, "int8_sha256": ")" + *en.int8_sha256 + R"("}})");
  EXPECT_EQ(reg::resolve(r, "lf", false).decision.reason, reg::Reason::Int8WithinBudget);
}

TEST(RegistryBadInput, ModelFileLinkingOutsideTheFolderIsRefused) {
  Models m = make_models("registry-link-models");
  fs::path dir = temp_dir("registry-link");
  fs::path rp = dir / "models" / "registry.json";
  handoff::register_artifact(artifact(rp, "lf", m, m.dynamic, "dynamic"));
  reg::Registry r = reg::load_registry(rp.string());
  EXPECT_TRUE(reg::check_files(r).empty());
  // The fp32 file replaced by a link to a copy outside the folder: same bytes, same digest, refused.
  fs::copy_file(r.onnx_path(r.at("lf")), dir / "outside.onnx");
  fs::remove(r.onnx_path(r.at("lf")));
  fs::create_symlink(dir / "outside.onnx", r.onnx_path(r.at("lf")));
  auto v = reg::check_files(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].message.find("outside the registry folder"), std::string::npos) << v[0].message;
  std::string err;
  EXPECT_EQ(run_cli(fmt::format("registry validate '{}'", rp.string()), &err), 2);
  EXPECT_NE(err.find("outside the registry folder"), std::string::npos) << err;
  // A link that stays inside the folder is fine.
  fs::remove(r.onnx_path(r.at("lf")));
  fs::copy_file(dir / "outside.onnx", rp.parent_path() / "real.onnx");
  fs::create_symlink("real.onnx", r.onnx_path(r.at("lf")));
  EXPECT_TRUE(reg::check_files(r).empty());
}

TEST(RegistryBadInput, RegistryFolderThatIsAFileIsRefusedBeforeAnyOutput) {
  Models m = make_models("registry-notdir-models");
  fs::path dir = temp_dir("registry-notdir");
  write_text(dir / "plain", "a file, not a folder");
  const std::string rp = (dir / "plain" / "registry.json").string();
  const fs::path out = dir / "out.int8.onnx";
  std::string err;
  EXPECT_EQ(run_cli(fmt::format("ptq '{}' --mode dynamic -o '{}' --register '{}' --id lf", m.fp32.string(),
                                out.string(), rp),
                    &err),
            2);
  EXPECT_NE(err.find("is not a folder"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(fs::exists(out)) << "the -o file was written before the registration was refused";
  EXPECT_EQ(run_cli(fmt::format("registry add '{}' --id lf --onnx '{}'", rp, m.fp32.string()), &err), 2);
  EXPECT_NE(err.find("is not a folder"), std::string::npos) << err;
  EXPECT_EQ(run_cli(fmt::format("quantize '{}' --data '{}' --budget 0.01 -o '{}' --register '{}' --id lf",
                                m.fp32.string(), m.data.string(), out.string(), rp),
                    &err),
            2);
  EXPECT_FALSE(fs::exists(out));
  // The registry path itself a folder.
  fs::create_directories(dir / "adir.json");
  EXPECT_EQ(run_cli(fmt::format("registry add '{}' --id lf --onnx '{}'", (dir / "adir.json").string(),
                                m.fp32.string()),
                    &err),
            2);
  EXPECT_NE(err.find("not a regular file"), std::string::npos) << err;
}

// ---------------------------------------------------------------------------------------------------
// Replacing an entry is atomic: the process killed (TINYQAT_TEST_CRASH_AT) at every step of
// `ptq --register` leaves the old entry or the new one, each valid, never a mix.

struct EntryState {
  std::string sha256, int8_sha256, mode;
  bool operator==(const EntryState&) const = default;
};
EntryState state_of(const reg::Entry& e) {
  return {e.sha256, e.int8_sha256.value_or(""), e.mode()};
}

TEST(RegistryAtomic, KilledAtEveryStepOfAReplacementLeavesOldOrNew) {
  Models m = make_models("atomic-models");
  const fs::path other_fp32 = m.dir / "lf2.onnx";
  export_onnx(zoo::learned_filter(1, 8, 2, 6), other_fp32.string());  // another fp32 model
  fs::path dir = temp_dir("atomic-reg");
  const fs::path rp = dir / "models" / "registry.json";
  const fs::path out = dir / "out" / "lf2.int8.onnx";
  fs::create_directories(out.parent_path());
  auto old_artifact = artifact(rp, "lf", m, m.statik, "static");
  old_artifact.eval_data = m.data.string();
  auto install_old = [&] {
    handoff::register_artifact(old_artifact);
    return state_of(reg::load_registry(rp.string()).at("lf"));
  };
  const EntryState old_state = install_old();
  const std::string ptq = fmt::format("ptq '{}' --mode dynamic -o '{}' --register '{}' --id lf --eval '{}'",
                                      other_fp32.string(), out.string(), rp.string(), m.data.string());
  // The new state, from an uninterrupted run.
  std::string err;
  ASSERT_EQ(run_cli(ptq, &err), 0) << err;
  const EntryState new_state = state_of(reg::load_registry(rp.string()).at("lf"));
  ASSERT_NE(new_state, old_state);
  auto files_in = [&](const fs::path& d) {
    std::set<std::string> names;
    for (const auto& f : fs::directory_iterator(d)) names.insert(f.path().filename().string());
    return names;
  };
  // After a complete replacement only the new entry's files remain beside the registry.
  const reg::Registry done = reg::load_registry(rp.string());
  const std::string stem = onnx_stem(done.at("lf").onnx);
  EXPECT_EQ(files_in(rp.parent_path()),
            (std::set<std::string>{"registry.json", stem + ".onnx", stem + ".int8.onnx", stem + ".json"}));

  struct Step {
    const char* name;
    bool new_expected;
  };
  for (const Step& step : std::vector<Step>{{"write:before-rename", false},
                                            {"register:fp32", false},
                                            {"register:int8", false},
                                            {"register:sidecar", false},
                                            {"register:registry", true},
                                            {"register:removing", true}}) {
    ASSERT_EQ(install_old(), old_state);
    ::setenv("TINYQAT_TEST_CRASH_AT", step.name, 1);
    int code = run_cli(ptq, &err);
    ::unsetenv("TINYQAT_TEST_CRASH_AT");
    EXPECT_EQ(code, 86) << step.name << ": the crash point was not reached: " << err;
    EXPECT_EQ(run_cli(fmt::format("registry validate '{}'", rp.string()), &err), 0)
        << step.name << ": " << err;
    EXPECT_EQ(run_cli(fmt::format("resolve --registry '{}' --id lf", rp.string()), &err), 0)
        << step.name << ": " << err;
    reg::Registry r = reg::load_registry(rp.string());
    EXPECT_EQ(state_of(r.at("lf")), step.new_expected ? new_state : old_state) << step.name;
    reg::Resolved res = reg::resolve(r, "lf", false);
    EXPECT_EQ(res.decision.variant, reg::Variant::Int8) << step.name << ": " << res.decision.text;
    EXPECT_EQ(res.decision.reason, reg::Reason::Int8WithinBudget) << step.name << ": " << res.decision.text;
    EXPECT_TRUE(reg::check_files(r).empty()) << step.name;
  }
  // The next registration removes what interrupted ones left of this id's pattern.
  install_old();
  const reg::Registry final_reg = reg::load_registry(rp.string());
  const std::string final_stem = onnx_stem(final_reg.at("lf").onnx);
  EXPECT_EQ(files_in(rp.parent_path()),
            (std::set<std::string>{"registry.json", final_stem + ".onnx", final_stem + ".int8.onnx",
                                   final_stem + ".json"}));
}

TEST(RegistryAtomic, StaleTemporaryFilesAreCleanedAtTheNextWrite) {
  fs::path dir = temp_dir("atomic-stale");
  const fs::path old_tmp = dir / ".model.onnx.tmp-Ab3xYz";
  const fs::path fresh_tmp = dir / ".model.onnx.tmp-Qq1234";
  const fs::path not_ours = dir / ".model.onnx.tmp-toolong1";
  for (const auto& p : {old_tmp, fresh_tmp, not_ours}) write_text(p, "partial");
  const auto past = fs::file_time_type::clock::now() - std::chrono::minutes(20);
  fs::last_write_time(old_tmp, past);
  fs::last_write_time(not_ours, past);
  // A write by the command line (a new process) into that folder.
  std::string err;
  ASSERT_EQ(run_cli(fmt::format("zoo learned_filter -o '{}'", (dir / "m.onnx").string()), &err), 0) << err;
  EXPECT_FALSE(fs::exists(old_tmp)) << "a stale temporary file was kept";
  EXPECT_TRUE(fs::exists(fresh_tmp)) << "a recent temporary file (a write in progress?) was removed";
  EXPECT_TRUE(fs::exists(not_ours));
  // A killed write leaves its temporary file; it is of the pattern cleaned.
  ::setenv("TINYQAT_TEST_CRASH_AT", "write:before-rename", 1);
  EXPECT_EQ(run_cli(fmt::format("zoo learned_filter -o '{}'", (dir / "k.onnx").string()), &err), 86) << err;
  ::unsetenv("TINYQAT_TEST_CRASH_AT");
  EXPECT_FALSE(fs::exists(dir / "k.onnx"));
  int left = 0;
  for (const auto& f : fs::directory_iterator(dir))
    if (f.path().filename().string().rfind(".k.onnx.tmp-", 0) == 0) ++left;
  EXPECT_EQ(left, 1);
}

// ---------------------------------------------------------------------------------------------------
// An int8 twin must keep its fp32 model's interface (ir/interface.h).

TEST(TwinInterface, NamesDtypesAndShapesCompare) {
  auto vi = [](std::string name, DType t, std::vector<Dim> shape) {
    return ValueInfo{std::move(name), t, true, std::move(shape)};
  };
  const Interface want{{vi("x", DType::F32, {Dim::symbol("N"), Dim::known(3), Dim::symbol("")})},
                       {vi("y", DType::F32, {Dim::symbol("N")})}};
  EXPECT_FALSE(interface_difference(want, want));
  Interface other = want;
  other.inputs[0].shape[0] = Dim::symbol("batch");  // symbols compare by name
  EXPECT_EQ(interface_difference(want, other).value_or(""),
            "input 'x' has shape [batch,3,?] instead of [N,3,?]");
  other = want;
  other.inputs[0].shape[2] = Dim::known(7);  // a free dim matches only a free dim
  EXPECT_TRUE(interface_difference(want, other));
  other = want;
  other.outputs[0].dtype = DType::I8;  // a quantized twin keeps float I/O
  EXPECT_EQ(interface_difference(want, other).value_or(""), "output 'y' is int8 instead of float32");
  other = want;
  other.inputs[0].name = "features";
  EXPECT_EQ(interface_difference(want, other).value_or(""), "input 0 is 'features' instead of 'x'");
  other = want;
  other.outputs.push_back(want.outputs[0]);
  EXPECT_EQ(interface_difference(want, other).value_or(""), "2 outputs instead of 1");
  other = want;
  other.inputs[0].has_shape = false;  // rank not declared: not compared by shape
  other.inputs[0].shape.clear();
  EXPECT_FALSE(interface_difference(want, other));
}

// The int8 twin of another model (3 channels where the fp32 model takes 1), pinned by its digest: the
// registry refuses it, validate names it, the runtimes fall back to fp32 and say why.
Model other_twin() {
  return quant::ptq_dynamic(zoo::learned_filter(3, 8, 2, 5), quant::QConfig{}, nullptr);
}

TEST(TwinInterface, RegisteringATwinOfAnotherModelIsRefused) {
  Models m = make_models("twin-iface-register");
  const fs::path other = m.dir / "other.int8.onnx";
  export_onnx(other_twin(), other.string());
  fs::path rp = temp_dir("twin-iface-register-reg") / "registry.json";
  try {
    handoff::register_artifact(artifact(rp, "lf", m, other, "dynamic"));
    FAIL() << "a twin of another model was registered";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("does not keep the fp32 model's interface: input 'degraded' has shape "
                                   "[N,3,H,W] instead of [N,1,H,W]"),
        std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(rp));  // nothing written
  std::string err;
  EXPECT_EQ(run_cli(fmt::format("registry add '{}' --id lf --onnx '{}' --int8 '{}' --license MIT",
                                rp.string(), m.fp32.string(), other.string()),
                    &err),
            2)
      << err;
  EXPECT_NE(err.find("does not keep the fp32 model's interface"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(fs::exists(rp));
}

TEST(TwinInterface, ATwinSwappedAndRepinnedFailsValidateAndFallsBack) {
  Models m = make_models("twin-iface-swap");
  fs::path rp = temp_dir("twin-iface-swap-reg") / "registry.json";
  handoff::register_artifact(artifact(rp, "lf", m, m.dynamic, "dynamic"));
  reg::Registry r = reg::load_registry(rp.string());
  const fs::path int8 = r.int8_path(r.at("lf"));
  export_onnx(other_twin(), int8.string());
  handoff::set_field(r, "lf", "int8_sha256", "auto");  // re-pinned: the digest check passes
  reg::save_registry(r);

  const std::vector<reg::Violation> v = reg::check_files(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(reg::format(v[0]).find("does not keep the fp32 model's interface"), std::string::npos)
      << reg::format(v[0]);
  std::string err;
  EXPECT_EQ(run_cli(fmt::format("registry validate '{}'", rp.string()), &err), 2) << err;
  EXPECT_NE(err.find("input 'degraded' has shape [N,3,H,W] instead of [N,1,H,W]"), std::string::npos) << err;

  const reg::Resolved res = reg::resolve(r, "lf", false);
  EXPECT_EQ(res.decision.variant, reg::Variant::Fp32);
  EXPECT_EQ(res.decision.reason, reg::Reason::Int8InterfaceMismatch);
  EXPECT_TRUE(reg::is_fallback(res.decision.reason));
  EXPECT_EQ(sha256_hex(res.bytes), r.at("lf").sha256);

  tq_session* s = nullptr;
  ASSERT_EQ(tq_session_open(rp.c_str(), "lf", nullptr, &s), TQ_OK) << tq_last_error();
  EXPECT_EQ(tq_session_variant(s), TQ_VARIANT_FP32);
  EXPECT_EQ(tq_session_reason(s), TQ_REASON_INT8_INTERFACE_MISMATCH);
  EXPECT_STREQ(tq_reason_name(tq_session_reason(s)), "int8-interface-mismatch");
  EXPECT_EQ(tq_reason_is_fallback(TQ_REASON_INT8_INTERFACE_MISMATCH), 1);
  EXPECT_NE(std::string(tq_session_reason_text(s)).find("interface"), std::string::npos);
  // The fp32 model runs on what the caller was promised: one channel.
  const std::vector<int64_t> shape = {1, 1, 8, 8};
  std::vector<float> x(64, 0.5f);
  tq_tensor in{"degraded", TQ_FLOAT32, 4, shape.data(), x.data()};
  tq_outputs* out = nullptr;
  EXPECT_EQ(tq_session_run(s, &in, 1, &out), TQ_OK) << tq_last_error();
  tq_outputs_free(out);
  tq_session_close(s);
}

// A C caller may put any int in tq_tensor.dtype: a code outside the enum is refused by status (found by
// fuzz/fuzz_c_api.cpp: reading it as the enum in C++ was undefined behaviour).
TEST(CApi, DtypeCodeOutsideTheEnumIsAStatus) {
  Models m = make_models("capi-dtype");
  fs::path rp = temp_dir("capi-dtype-reg") / "registry.json";
  handoff::register_artifact(artifact(rp, "lf", m, m.dynamic, "dynamic"));
  tq_session* s = nullptr;
  ASSERT_EQ(tq_session_open(rp.c_str(), "lf", nullptr, &s), TQ_OK) << tq_last_error();
  const std::vector<int64_t> shape = {1, 1, 4, 4};
  std::vector<float> x(16, 0.5f);
  for (int code : {255, -1, 4, 1000}) {
    tq_tensor in{"degraded", TQ_FLOAT32, 4, shape.data(), x.data()};
    std::memcpy(&in.dtype, &code, sizeof code);
    tq_outputs* out = nullptr;
    EXPECT_EQ(tq_session_run(s, &in, 1, &out), TQ_ERR_INVALID_ARGUMENT) << code;
    EXPECT_EQ(out, nullptr);
    EXPECT_NE(std::string(tq_last_error()).find("unknown dtype code " + std::to_string(code)),
              std::string::npos)
        << tq_last_error();
  }
  tq_session_close(s);
}

// An empty plane ([1,1,0,0]) through the int8 convolution: an empty output or a status, never a signal
// (fuzz/fuzz_c_api.cpp: the int8 drivers divided by a zero tile width).
TEST(CApi, EmptyPlaneOnAnInt8ConvolutionIsNoSignal) {
  Models m = make_models("capi-empty");
  fs::path rp = temp_dir("capi-empty-reg") / "registry.json";
  handoff::register_artifact(artifact(rp, "lf", m, m.dynamic, "dynamic"));
  tq_session* s = nullptr;
  tq_session_options o;
  tq_session_options_init(&o);
  o.force_int8 = 1;  // the int8 kernels, on any CPU
  ASSERT_EQ(tq_session_open(rp.c_str(), "lf", &o, &s), TQ_OK) << tq_last_error();
  ASSERT_EQ(tq_session_variant(s), TQ_VARIANT_INT8);
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{1, 1, 0, 0}, {1, 1, 0, 5}, {1, 1, 5, 0}, {0, 1, 37, int64_t(1) << 57}}) {
    tq_tensor in{"degraded", TQ_FLOAT32, 4, shape.data(), nullptr};
    tq_outputs* out = nullptr;
    const tq_status st = tq_session_run(s, &in, 1, &out);
    if (st == TQ_OK) {
      EXPECT_EQ(tq_outputs_count(out), 1u);
    } else {
      EXPECT_NE(std::string(tq_last_error()), "");
    }
    tq_outputs_free(out);
  }
  tq_session_close(s);
}

// The opt-in input recorder (tq_session_record): results are bitwise those of a session that does not
// record, also with runs from several threads; the file holds a sample of what was fed, the range of
// all of it and the count, and `ptq --calibration` takes it as it is.
TEST(CApi, RecordingChangesNoResultAndItsFileCalibratesStaticPtq) {
  Models m = make_models("capi-record");
  fs::path rp = temp_dir("capi-record-reg") / "registry.json";
  handoff::register_artifact(artifact(rp, "lf", m, m.dynamic, "dynamic"));
  tq_session *rec = nullptr, *plain = nullptr;
  ASSERT_EQ(tq_session_open(rp.c_str(), "lf", nullptr, &rec), TQ_OK) << tq_last_error();
  ASSERT_EQ(tq_session_open(rp.c_str(), "lf", nullptr, &plain), TQ_OK) << tq_last_error();
  EXPECT_EQ(tq_session_record_flush(plain), TQ_ERR_INVALID_ARGUMENT) << "not recording";
  EXPECT_EQ(tq_session_record(rec, nullptr, 0), TQ_ERR_INVALID_ARGUMENT);
  const fs::path npz = m.dir / "recorded.npz";
  ASSERT_EQ(tq_session_record(rec, npz.c_str(), 12), TQ_OK) << tq_last_error();
  EXPECT_EQ(tq_session_record(rec, npz.c_str(), 12), TQ_ERR_INVALID_ARGUMENT) << "once per session";
  EXPECT_EQ(tq_session_record_flush(rec), TQ_ERR_RUN) << "nothing recorded yet";
  EXPECT_NE(std::string(tq_last_error()).find("no sample yet"), std::string::npos) << tq_last_error();

  const std::vector<int64_t> shape = {1, 1, 16, 16};
  auto input = [](int k) {
    std::vector<float> x(256);
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = float((i * 7 + size_t(k) * 13) % 97) / 96.f * float(1 + k % 3);
    return x;
  };
  auto run = [&](tq_session* s, const std::vector<float>& x) {
    tq_tensor in{"degraded", TQ_FLOAT32, 4, shape.data(), x.data()};
    tq_outputs* out = nullptr;
    EXPECT_EQ(tq_session_run(s, &in, 1, &out), TQ_OK) << tq_last_error();
    const tq_tensor* y = tq_outputs_get(out, 0);
    std::vector<float> v(static_cast<const float*>(y->data), static_cast<const float*>(y->data) + 256);
    tq_outputs_free(out);
    return v;
  };
  constexpr int kThreads = 4, kRuns = 10;
  std::vector<std::thread> th;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < kThreads; ++t)
    th.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        const auto x = input(t * kRuns + r);
        if (run(rec, x) != run(plain, x)) ++mismatches;
      }
    });
  for (auto& t : th) t.join();
  EXPECT_EQ(mismatches.load(), 0) << "recording changed a result";
  ASSERT_EQ(tq_session_record_flush(rec), TQ_OK) << tq_last_error();

  const NamedTensors got = read_npz(npz.string());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first, "degraded");
  EXPECT_EQ(got[0].second.shape(), (Shape{12, 1, 16, 16})) << "12 of the 40 rows, as asked";
  float lo = INFINITY, hi = -INFINITY;
  std::set<int> which;
  for (int k = 0; k < kThreads * kRuns; ++k)
    for (float v : input(k)) lo = std::min(lo, v), hi = std::max(hi, v);
  for (int64_t r = 0; r < 12; ++r) {  // every kept row is one of the inputs, none twice
    const float* row = got[0].second.data<float>() + r * 256;
    int found = -1;
    for (int k = 0; k < kThreads * kRuns && found < 0; ++k)
      if (input(k) == std::vector<float>(row, row + 256)) found = k;
    EXPECT_GE(found, 0) << "row " << r << " was never fed";
    EXPECT_TRUE(which.insert(found).second) << "input " << found << " kept twice";
  }
  EXPECT_EQ(got[1].first, "degraded.min_max");
  EXPECT_EQ(got[1].second.data<float>()[0], lo);
  EXPECT_EQ(got[1].second.data<float>()[1], hi);
  EXPECT_EQ(got[2].first, "recorder.seen");
  EXPECT_EQ(got[2].second.data<int64_t>()[0], kThreads * kRuns);

  std::string err;
  EXPECT_EQ(run_cli(fmt::format("ptq '{}' --mode static --calibration '{}' -o '{}'", m.fp32.string(),
                                npz.string(), (m.dir / "from-recording.int8.onnx").string()),
                    &err),
            0)
      << err;
  // Close writes what was recorded since.
  const fs::path npz2 = m.dir / "at-close.npz";
  tq_session* s3 = nullptr;
  ASSERT_EQ(tq_session_open(rp.c_str(), "lf", nullptr, &s3), TQ_OK);
  ASSERT_EQ(tq_session_record(s3, npz2.c_str(), 0), TQ_OK);
  run(s3, input(3));
  tq_session_close(s3);
  EXPECT_EQ(read_npz(npz2.string()).at(0).second.dim(0), 1);
  tq_session_close(rec);
  tq_session_close(plain);
}

// The reservoir: a uniform sample of the rows fed (fixed seed: the same rows for the same sequence),
// bounded by rows and by bytes; rows of another shape count in the range, not in the sample.
TEST(InputRecorder, ReservoirIsUniformBoundedAndKeepsOneShape) {
  const fs::path dir = temp_dir("recorder-unit");
  RecorderOptions o;
  o.path = (dir / "r.npz").string();
  o.samples = 50;
  InputRecorder rec(o, {"x"});
  for (int b = 0; b < 250; ++b) {  // 1000 rows in batches of 4; row i holds i
    Tensor x = Tensor::empty(DType::F32, {4, 2});
    for (int i = 0; i < 8; ++i) x.data<float>()[i] = float(b * 4 + i / 2);
    rec.add({{"x", x}});
  }
  Tensor odd = Tensor::empty(DType::F32, {1, 3});
  for (int i = 0; i < 3; ++i) odd.data<float>()[i] = -5.f;
  rec.add({{"x", odd}});
  rec.add({{"y", odd}});  // the model's input is missing: the run is not recorded
  const RecorderStats st = rec.stats();
  EXPECT_EQ(st.seen, 1001);
  EXPECT_EQ(st.kept, 50);
  EXPECT_EQ(st.other_shape, 1);
  rec.flush();
  const NamedTensors got = read_npz(o.path);
  ASSERT_EQ(got[0].second.shape(), (Shape{50, 2}));
  double mean = 0;
  std::set<float> rows;
  for (int r = 0; r < 50; ++r) {
    const float v = got[0].second.data<float>()[r * 2];
    EXPECT_EQ(got[0].second.data<float>()[r * 2 + 1], v);
    rows.insert(v);
    mean += v / 50.0;
  }
  EXPECT_EQ(rows.size(), 50u);
  EXPECT_NEAR(mean, 499.5, 120) << "a uniform sample of 0..999, not the first or last rows";
  EXPECT_EQ(got[1].second.data<float>()[0], -5.f) << "the range covers the row that was not sampled";
  EXPECT_EQ(got[1].second.data<float>()[1], 999.f);

  RecorderOptions small = o;
  small.path = (dir / "s.npz").string();
  small.max_bytes = 3 * 2 * 4;  // three rows of two floats
  InputRecorder bounded(small, {"x"});
  Tensor x = Tensor::empty(DType::F32, {10, 2});
  for (int i = 0; i < 20; ++i) x.data<float>()[i] = float(i);
  bounded.add({{"x", x}});
  EXPECT_EQ(bounded.stats().capacity, 3);
  EXPECT_EQ(bounded.stats().kept, 3);
  RecorderOptions bad = o;
  bad.samples = 0;
  EXPECT_THROW(InputRecorder(bad, {"x"}), Error);
}

}  // namespace
}  // namespace tinyqat::test
