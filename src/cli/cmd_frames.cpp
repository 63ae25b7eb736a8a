// `tinyqat frames`: a model over the frames of a raw YUV video, through the fork-compatible API layer
// (src/vmafdnn: the same open, sidecar, pins and int8 fallback as libtinyqat_vmafdnn, and
// vmaf_dnn_session_run for every tensor). A metric model writes one score per frame (CSV); a filter
// replaces the luma plane and copies the chroma planes, tiled with a halo of its receptive field when
// its input size is fixed and smaller than the frame (runtime/plane_tiles.h). docs/vmaf.md.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/atomic_file_writer.h"
#include "core/error.h"
#include "core/file_util.h"
#include "ir/receptive_field.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "runtime/plane_tiles.h"
#include "vmafdnn/vmafdnn.h"

namespace tinyqat::cli {

namespace {

namespace fs = std::filesystem;
static_assert(std::endian::native == std::endian::little, "yuv420p10le samples are read in place");

struct Opts {
  std::string model, yuv, size, pix_fmt = "yuv420p", scores, out;
  int threads = 1;
  int64_t max_frames = 0;
  bool quiet = false;
};

// Each output sample is the mean of the input area it covers (separable box weights).
void resize_area(const float* in, int64_t iw, int64_t ih, float* out, int64_t ow, int64_t oh) {
  auto weights = [](int64_t n_in, int64_t n_out) {
    // For each output index: (first input index, weights...).
    std::vector<std::pair<int64_t, std::vector<float>>> w(static_cast<size_t>(n_out));
    const double scale = double(n_in) / double(n_out);
    for (int64_t o = 0; o < n_out; ++o) {
      const double a = o * scale, b = (o + 1) * scale;
      const int64_t i0 = int64_t(a), i1 = std::min(n_in, int64_t(std::ceil(b)));
      auto& [first, ws] = w[size_t(o)];
      first = i0;
      for (int64_t i = i0; i < std::max(i1, i0 + 1); ++i) {
        const double cover = std::min<double>(b, double(i + 1)) - std::max<double>(a, double(i));
        ws.push_back(float(std::max(0.0, cover) / scale));
      }
    }
    return w;
  };
  const auto wx = weights(iw, ow), wy = weights(ih, oh);
  std::vector<float> rows(size_t(ow * ih));
  for (int64_t r = 0; r < ih; ++r)
    for (int64_t c = 0; c < ow; ++c) {
      double acc = 0;
      const auto& [first, ws] = wx[size_t(c)];
      for (size_t k = 0; k < ws.size(); ++k) acc += double(ws[k]) * in[r * iw + first + int64_t(k)];
      rows[size_t(r * ow + c)] = float(acc);
    }
  for (int64_t r = 0; r < oh; ++r) {
    const auto& [first, ws] = wy[size_t(r)];
    for (int64_t c = 0; c < ow; ++c) {
      double acc = 0;
      for (size_t k = 0; k < ws.size(); ++k)
        acc += double(ws[k]) * rows[size_t((first + int64_t(k)) * ow + c)];
      out[r * ow + c] = float(acc);
    }
  }
}

// One score per frame: one [N,1,H,W] (or [N,C,H,W] with a free C) input and one output of at most
// rank 2 whose non-batch dims are 1 or unknown.
bool looks_like_metric(const VmafDnnSession& s) {
  const auto& in = s.exec->inputs();
  const auto& out = s.exec->outputs();
  if (in.size() != 1 || out.size() != 1 || !in[0].has_shape || in[0].shape.size() != 4) return false;
  const Dim& c = in[0].shape[1];
  if (c.is_known() && c.value != 1) return false;
  if (!out[0].has_shape) return s.meta.kind == "nr";
  if (out[0].shape.size() > 2) return false;
  for (size_t i = 1; i < out[0].shape.size(); ++i)
    if (out[0].shape[i].is_known() && out[0].shape[i].value != 1) return false;
  return true;
}

// A model's run through the C entry point, one [1,1,h,w] plane in, `n_out` floats out.
void run_plane(VmafDnnSession* s, const std::string& model, int64_t frame, const float* in, int64_t w,
               int64_t h, float* out, size_t n_out) {
  const int64_t shape[4] = {1, 1, h, w};
  VmafDnnInput input{nullptr, in, shape, 4};
  VmafDnnOutput output{nullptr, out, n_out, 0};
  const int rc = vmaf_dnn_session_run(s, &input, 1, &output, 1);
  if (rc == -ENOSPC || (rc == 0 && output.written != n_out))
    fail("{}: frame {}: the model gives {} values for a {}x{} plane, expected {}", model, frame,
         output.written, w, h, n_out);
  if (rc != 0)
    fail("{}: frame {}: the run failed on a {}x{} plane ({})", model, frame, w, h, std::strerror(-rc));
}

int run_frames(const Opts& o) {
  if (o.scores.empty() == o.out.empty())
    fail("frames: give exactly one of --scores OUT.csv (a metric model) or --out OUT.yuv (a filter)");
  const Yuv yuv = parse_format(o.size, o.pix_fmt);

  std::error_code ec;
  const auto st = fs::status(o.yuv, ec);
  if (ec || !fs::exists(st)) fail("{}: cannot open: no such file", o.yuv);
  if (!fs::is_regular_file(st)) fail("{}: not a regular file", o.yuv);
  const uint64_t file_size = fs::file_size(o.yuv);
  if (file_size == 0) fail("{}: empty file, no frames", o.yuv);
  if (file_size % uint64_t(yuv.frame_bytes) != 0)
    fail(
        "{}: {} bytes is not a whole number of {}x{} {} frames ({} bytes each; {} frames and {} bytes left "
        "over)",
        o.yuv, file_size, yuv.w, yuv.h, o.pix_fmt, yuv.frame_bytes, file_size / uint64_t(yuv.frame_bytes),
        file_size % uint64_t(yuv.frame_bytes));
  int64_t frames = int64_t(file_size / uint64_t(yuv.frame_bytes));
  if (o.max_frames > 0) frames = std::min(frames, o.max_frames);

  // The session: the library's own open (sidecar, pins, int8 twin or fp32 fallback).
  const VmafDnnConfig cfg{VMAF_DNN_DEVICE_CPU, 0, o.threads, false};
  std::unique_ptr<VmafDnnSession> sess;
  try {
    sess = vmafdnn::open_session(o.model, &cfg);
  } catch (const vmafdnn::Refusal& r) {
    const std::string what = r.what();
    if (what.find(fs::path(o.model).filename().string()) != std::string::npos) throw Error(what);
    fail("{}: {}", o.model, what);
  }
  VmafDnnSession* s = sess.get();
  const auto& ins = s->exec->inputs();
  const bool one_plane_in = ins.size() == 1 && ins[0].has_shape && ins[0].shape.size() == 4;
  const bool metric =
      one_plane_in && (s->meta.kind == "nr" || (s->meta.kind != "filter" && looks_like_metric(*s)));
  const bool filter = !metric && s->plane_model;
  if (!metric && !filter)
    fail(
        "{}: neither a filter (one [1,1,H,W] plane in, the same plane out) nor a metric model (one score per "
        "frame)",
        o.model);
  if (metric && !o.out.empty())
    fail("{}: a metric model (one score per frame): write its scores with --scores OUT.csv, not --out",
         o.model);
  if (filter && !o.scores.empty())
    fail("{}: a filter (plane in, plane out): write the filtered video with --out OUT.yuv, not --scores",
         o.model);

  // Geometry: the model's input size (a fixed side, or the frame's).
  const auto& in_shape = s->exec->inputs()[0].shape;
  const int64_t model_h = in_shape[2].is_known() ? in_shape[2].value : yuv.h;
  const int64_t model_w = in_shape[3].is_known() ? in_shape[3].value : yuv.w;
  int64_t halo = 0;
  std::string how = "whole frames";
  if (filter && (model_w != yuv.w || model_h != yuv.h)) {
    const Model fp32 = import_onnx(o.model);
    const ReceptiveField rf = receptive_field(fp32.graph, fp32.graph.inputs.at(0).name);
    if (!rf.nonlocal.empty())
      fail("{}: takes {}x{} planes and cannot be tiled over {}x{} frames: {} mixes distant positions",
           o.model, model_w, model_h, yuv.w, yuv.h, rf.nonlocal);
    if (rf.stride != 1) fail("{}: cannot be tiled: its convolutions stride ({}x)", o.model, rf.stride);
    halo = rf.halo;
    size_t tiles = 0;
    try {
      tiles = plane_tiles(yuv.w, yuv.h, model_w, model_h, halo).size();
    } catch (const Error& e) {
      fail("{}: cannot run over {}x{} frames: {}", o.model, yuv.w, yuv.h, e.what());
    }
    how = fmt::format("{} tiles of {}x{} a frame, halo {}", tiles, model_w, model_h, halo);
  } else if (metric && (model_w != yuv.w || model_h != yuv.h)) {
    how = fmt::format("frames resized to {}x{}", model_w, model_h);
  }

  std::optional<AtomicFileWriter> video;
  if (!o.out.empty()) video.emplace(o.out);
  std::string csv = "frame,score\n";
  const vmafdnn::Norm norm = vmafdnn::norm_of(s->meta);
  const size_t n = size_t(yuv.w * yuv.h);
  std::vector<float> plane(n), result(filter ? n : 0), sized(size_t(model_w * model_h));
  std::vector<uint16_t> samples16(yuv.sample == 2 ? n : 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  auto seconds_since = [](auto t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  for (int64_t f = 0; f < frames; ++f) {
    std::vector<uint8_t> frame =
        read_file_range(o.yuv, uint64_t(f * yuv.frame_bytes), uint64_t(yuv.frame_bytes));
    const size_t stride = size_t(yuv.w) * size_t(yuv.sample);
    if (yuv.sample == 1) {
      vmafdnn::plane8_to_float(frame.data(), stride, int(yuv.w), int(yuv.h), norm, plane.data());
    } else {
      std::memcpy(samples16.data(), frame.data(), size_t(yuv.luma_bytes));
      vmafdnn::plane16_to_float(samples16.data(), stride, int(yuv.w), int(yuv.h), yuv.bpc, norm,
                                plane.data());
    }
    if (filter) {
      run_tiled(
          plane.data(), yuv.w, yuv.h, model_w, model_h, halo,
          [&](const float* tin, float* tout) {
            run_plane(s, o.model, f, tin, model_w, model_h, tout, size_t(model_w * model_h));
          },
          result.data());
      if (yuv.sample == 1) {
        vmafdnn::float_to_plane8(result.data(), int(yuv.w), int(yuv.h), norm, frame.data(), stride);
      } else {
        vmafdnn::float_to_plane16(result.data(), int(yuv.w), int(yuv.h), yuv.bpc, norm, samples16.data(),
                                  stride);
        std::memcpy(frame.data(), samples16.data(), size_t(yuv.luma_bytes));
      }
      video->write(frame.data(), frame.size());
    } else {
      const float* x = plane.data();
      if (model_w != yuv.w || model_h != yuv.h) {
        resize_area(plane.data(), yuv.w, yuv.h, sized.data(), model_w, model_h);
        x = sized.data();
      }
      float score = 0;
      run_plane(s, o.model, f, x, model_w, model_h, &score, 1);
      csv += fmt::format("{},{}\n", f, score);
    }
    if (!o.quiet && f + 1 < frames && seconds_since(last) >= 1.0) {
      last = std::chrono::steady_clock::now();
      std::fprintf(stderr, "frames: %lld/%lld (%.2f fps)\n", static_cast<long long>(f + 1),
                   static_cast<long long>(frames), double(f + 1) / seconds_since(t0));
    }
  }
  const double fps = double(frames) / std::max(1e-9, seconds_since(t0));
  if (video) {
    video->commit();
  } else {
    write_file_atomic(o.scores, csv);
  }
  std::fprintf(stderr, "wrote %s (%lld frames, %s, %s, %.2f fps)\n", (video ? o.out : o.scores).c_str(),
               static_cast<long long>(frames), how.c_str(), s->ep.c_str(), fps);
  return 0;
}

}  // namespace

std::function<int()> add_frames(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "frames",
      "Run a vmaf model over the frames of a raw YUV video: scores per frame (metric) or a filtered video");
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model,
                  "ONNX model, opened as libtinyqat_vmafdnn opens it (sidecar <stem>.json, pins, int8 twin)")
      ->required();
  sub->add_option("--yuv", o->yuv, "Raw planar 4:2:0 video (frames one after another, no header)")
      ->required();
  sub->add_option("--size", o->size, "Frame size WIDTHxHEIGHT, e.g. 1920x1080")->required();
  sub->add_option("--pix-fmt", o->pix_fmt, "Sample format")
      ->check(CLI::IsMember({"yuv420p", "yuv420p10le"}))
      ->capture_default_str();
  sub->add_option("--scores", o->scores, "Metric model: write frame,score rows to this CSV");
  sub->add_option("--out", o->out,
                  "Filter: write the video with the filtered luma (chroma copied) to this file");
  sub->add_option("--threads", o->threads, "Worker threads per run (0: all cores)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  sub->add_option("--max-frames", o->max_frames, "Stop after this many frames (0: all)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40))
      ->capture_default_str();
  sub->add_flag("--quiet,-q", o->quiet, "No progress lines on stderr (errors and the summary only)");
  return [o] { return run_frames(*o); };
}

}  // namespace tinyqat::cli
