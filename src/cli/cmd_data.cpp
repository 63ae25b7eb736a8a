// tinyqat data: builds training/eval sets from real photos and feature CSVs, and looks inside data files
// (show, convert: Parquet / npz / npy; src/data/, docs/data.md, docs/fork.md).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "data/caches.h"
#include "data/corpus.h"
#include "data/shards.h"
#include "io/npy.h"

namespace tinyqat::cli {

namespace {

void progress_line(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
}

struct OutOpts {
  std::string out, input_name, preview;
  bool input_only = false;
};

void add_out_options(CLI::App* sub, OutOpts& o, const std::string& default_input) {
  o.input_name = default_input;
  sub->add_option("--out,-o", o.out, "The .npz file to write (atomically)")->required();
  sub->add_option("--input-name", o.input_name, "Name of the model-input array (the graph input it feeds)")
      ->capture_default_str();
  sub->add_flag("--input-only", o.input_only,
                "Write only the model-input array: a file for `tinyqat run --input X.npz` and calibration");
}

// Checked before any work is done.
void check_out(const OutOpts& o) {
  TQ_CHECK(o.out.size() > 4 && o.out.substr(o.out.size() - 4) == ".npz",
           "--out '{}': expected a .npz file name", o.out);
  TQ_CHECK(o.preview.empty() || (o.preview.size() > 4 && o.preview.substr(o.preview.size() - 4) == ".png"),
           "--preview '{}': expected a .png file name", o.preview);
}

// Writes the set (or just its input array) and says what was written.
void write_set(const OutOpts& o, const NamedTensors& arrays, std::chrono::steady_clock::time_point t0) {
  const NamedTensors written = o.input_only ? data::only(arrays, o.input_name) : arrays;
  std::filesystem::path parent = std::filesystem::path(o.out).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  write_npz(o.out, written, /*compress=*/true);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string what;
  for (const auto& [name, t] : written)
    what +=
        fmt::format("{}{} {}{}", what.empty() ? "" : ", ", name, dtype_name(t.dtype()), shape_str(t.shape()));
  std::fprintf(stderr, "wrote %s (%s) in %.2f s\n", o.out.c_str(), what.c_str(), s);
}

const NamedTensors::value_type& find(const NamedTensors& a, const std::string& name) {
  for (const auto& kv : a)
    if (kv.first == name) return kv;
  fail("no array named '{}'", name);
}

void write_preview(const std::string& path, const std::vector<Tensor>& rows) {
  if (path.empty()) return;
  data::write_png(path, data::contact_sheet(rows, 8));
  std::fprintf(stderr, "wrote %s (first samples, one row per array)\n", path.c_str());
}

}  // namespace

std::function<int()> add_data(CLI::App& app) {
  auto* cmd = app.add_subcommand(kDataCommand.name, kDataCommand.description);
  cmd->require_subcommand(1);
  const std::string photos_help = "Folder of photos (scripts/fetch_photos.sh fills .cache/photos)";

  struct Opts {
    std::string photos = ".cache/photos", split = "train", csv;
    data::FilterPairsOptions fp;
    data::NrFramesOptions nr;
    OutOpts fp_out, nr_out, ft_out;
  };
  auto o = std::make_shared<Opts>();
  const auto splits = CLI::IsMember({"train", "eval", "all"});
  const std::string split_help = "Photos to draw from: train, eval (every 4th scene by name) or all";

  auto* photos =
      cmd->add_subcommand("photos", "List the photos of a folder with their size, scene and split");
  photos->add_option("--photos", o->photos, photos_help)->capture_default_str();

  auto* fp = cmd->add_subcommand(
      "filter-pairs",
      "learned_filter pairs: S×S luma crops, clean and degraded (blur, then JPEG, then noise)");
  fp->add_option("--photos", o->photos, photos_help)->capture_default_str();
  add_out_options(fp, o->fp_out, "degraded");
  fp->add_option("--count,-n", o->fp.count, "Number of crops")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  fp->add_option("--size", o->fp.size, "Crop side S")->capture_default_str()->check(CLI::Range(8, 4096));
  fp->add_option("--seed", o->fp.seed, "Seed of the crop positions and noise")->capture_default_str();
  fp->add_option("--split", o->split, split_help)->capture_default_str()->check(splits);
  fp->add_option("--blur", o->fp.blur, "Gaussian blur sigma (0 = none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 20.0));
  fp->add_option("--jpeg", o->fp.jpeg, "JPEG quality 1..100 (0 = no JPEG)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  fp->add_option("--noise", o->fp.noise, "Gaussian noise sigma in [0,1] units (0 = none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  fp->add_option("--preview", o->fp_out.preview,
                 "Also write a PNG of the first 8 pairs (clean above degraded)");

  auto* nr = cmd->add_subcommand(
      "nr-frames", "nr_metric frames: S×S luma frames with a spread of blur/JPEG/noise, proxy MOS and PSNR");
  nr->add_option("--photos", o->photos, photos_help)->capture_default_str();
  add_out_options(nr, o->nr_out, "frame");
  nr->add_option("--count,-n", o->nr.count, "Number of frames")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  nr->add_option("--size", o->nr.size, "Frame side S")->capture_default_str()->check(CLI::Range(16, 4096));
  nr->add_option("--seed", o->nr.seed, "Seed of the windows and degradations")->capture_default_str();
  nr->add_option("--split", o->split, split_help)->capture_default_str()->check(splits);
  nr->add_option("--preview", o->nr_out.preview, "Also write a PNG of the first 8 frames");

  struct YuvOpts {
    std::string out, size = "1280x720", pix_fmt = "yuv420p", split = "all";
    int frames_per_photo = 3;
  };
  auto yo = std::make_shared<YuvOpts>();
  auto* yuv = cmd->add_subcommand(
      "yuv",
      "A short raw YUV 4:2:0 video from photos (a slow pan over each, BT.709 limited range) for "
      "`tinyqat frames` and libvmaf");
  yuv->add_option("--photos", o->photos, photos_help)->capture_default_str();
  yuv->add_option("--split", yo->split, split_help)->capture_default_str()->check(splits);
  yuv->add_option("-o,--out", yo->out, "OUT.yuv to write")->required();
  yuv->add_option("--size", yo->size, "Frame size WIDTHxHEIGHT (even, 16..8192)")->capture_default_str();
  yuv->add_option("--frames-per-photo", yo->frames_per_photo, "Frames of pan over each photo")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  yuv->add_option("--pix-fmt", yo->pix_fmt, "yuv420p (8-bit) or yuv420p10le (10-bit)")
      ->capture_default_str()
      ->check(CLI::IsMember({"yuv420p", "yuv420p10le"}));

  auto* ft = cmd->add_subcommand(
      "features", "VMAF feature CSV (adm2,vif_scale0..3,motion2,...,vmaf) → features [N,6] and vmaf [N]");
  ft->add_option("--csv", o->csv, "CSV file with a header row")->required();
  add_out_options(ft, o->ft_out, "features");

  auto show_file = std::make_shared<std::string>();
  auto* show =
      cmd->add_subcommand("show",
                          "Describe a data file: a sharded corpus (folder or manifest .txt), .parquet/.pq "
                          "(columns, types, nulls, rows, row groups, codecs, encodings; "
                          "reads only the footer), .npz/.npy (arrays, dtypes, shapes) or a feature CSV");
  show->add_option("file", *show_file, "The file")->required();

  struct ConvertOpts {
    std::string in, out, layout = "columns";
    std::vector<std::string> columns;
  };
  auto cv = std::make_shared<ConvertOpts>();
  auto* convert = cmd->add_subcommand("convert", "Parquet (.parquet/.pq) → NumPy .npz");
  convert->add_option("input", cv->in, "The .parquet / .pq file")->required();
  convert->add_option("--out,-o", cv->out, "The .npz file to write (atomically)")->required();
  convert
      ->add_option(
          "--layout", cv->layout,
          "columns: one array per column (float64 kept, strings as unicode arrays, nulls NaN in float "
          "columns); feature-cache: the fork's npz cache ('features' [N,F], 'scores' [N], 'key')")
      ->capture_default_str()
      ->check(CLI::IsMember({"columns", "feature-cache"}));
  convert->add_option("--columns", cv->columns, "Only these columns (layout columns), in this order")
      ->delimiter(',');

  struct ShardOpts {
    std::string in, dir;
    int64_t rows = 4096;
  };
  auto so = std::make_shared<ShardOpts>();
  auto* shard = cmd->add_subcommand(
      "shard",
      "Split a training set (.npz, or .parquet/.pq as one array per column) by rows into DIR/shard-00000.npz "
      "... and DIR/manifest.txt: a corpus data.train streams (docs/training.md, Corpora streamed from "
      "shards)");
  shard->add_option("input", so->in, "The .npz / .parquet / .pq file")->required();
  shard->add_option("--out,-o", so->dir, "The folder to write the shards and manifest.txt into")->required();
  shard->add_option("--rows-per-shard", so->rows, "Rows per shard (the last shard holds the rest)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));

  struct StreamOpts {
    std::string corpus;
    int64_t batch = 64;
    int epochs = 1, prefetch = 2;
    uint64_t seed = 0;
  };
  auto st = std::make_shared<StreamOpts>();
  auto* stream = cmd->add_subcommand(
      "stream",
      "Read a sharded corpus (folder or manifest) through the training loader: rows, batches and a checksum "
      "per epoch, and the process's peak resident memory (docs/training.md, Corpora streamed from shards)");
  stream->add_option("corpus", st->corpus, "A folder of .npz shards or a manifest .txt")->required();
  stream->add_option("--batch-size", st->batch, "Global batch size")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  stream->add_option("--epochs", st->epochs, "Epochs to stream")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  stream->add_option("--prefetch", st->prefetch, "Shards read ahead")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  stream->add_option("--seed", st->seed, "Shuffle seed")->capture_default_str();

  return [o, photos, fp, nr, ft, show, show_file, convert, cv, shard, so, stream, st, yuv, yo] {
    if (yuv->parsed()) {
      const Yuv f = parse_format(yo->size, yo->pix_fmt);
      const std::vector<std::string> all = data::list_photos(o->photos);
      std::vector<std::string> chosen;
      for (size_t i : data::select_split(all, data::parse_split(yo->split))) chosen.push_back(all[i]);
      TQ_CHECK(!chosen.empty(), "{}: no photo in split {}", o->photos, yo->split);
      data::YuvVideoOptions vo;
      vo.width = static_cast<int>(f.w), vo.height = static_cast<int>(f.h);
      vo.frames_per_photo = yo->frames_per_photo;
      vo.ten_bit = f.bpc == 10;
      const int64_t n = data::write_yuv_from_photos(chosen, yo->out, vo, progress_line);
      std::fprintf(stderr, "wrote %s: %lld frames of %lldx%lld %s from %zu photo(s)\n", yo->out.c_str(),
                   static_cast<long long>(n), static_cast<long long>(f.w), static_cast<long long>(f.h),
                   yo->pix_fmt.c_str(), chosen.size());
      return 0;
    }
    if (stream->parsed()) {
      const data::ShardCorpus c = data::open_shard_corpus(st->corpus);
      std::printf("%s: %zu shard(s), %lld rows\n", st->corpus.c_str(), c.shards.size(),
                  static_cast<long long>(c.total_rows));
      for (int e = 0; e < st->epochs; ++e) {
        data::LoaderOptions lo;
        lo.batch_size = st->batch, lo.seed = st->seed, lo.epoch = static_cast<uint64_t>(e);
        lo.prefetch = st->prefetch;
        data::ShardLoader loader(c, lo);
        NamedTensors b;
        int64_t rows = 0, batches = 0;
        double checksum = 0;  // Σ (position in the epoch + 1) · first value of the row: order-sensitive
        while (loader.next(&b)) {
          const Tensor& t = b[0].second;
          const int64_t per = t.dim(0) ? t.numel() / t.dim(0) : 0;
          for (int64_t r = 0; r < t.dim(0) && per > 0; ++r)
            checksum += static_cast<double>(rows + r + 1) * t.scalar_as_double(r * per);
          rows += t.dim(0), ++batches;
        }
        std::printf("epoch %d: %lld rows in %lld batches, checksum %.17g\n", e + 1,
                    static_cast<long long>(rows), static_cast<long long>(batches), checksum);
      }
      std::printf("peak RSS %.1f MiB\n", static_cast<double>(data::peak_rss_bytes()) / (1 << 20));
      return 0;
    }
    if (shard->parsed()) {
      const auto t0 = std::chrono::steady_clock::now();
      const data::ShardWriteResult r = data::write_shards(so->in, so->dir, so->rows, progress_line);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "wrote %zu shard(s) of up to %lld rows (%lld rows) and %s in %.2f s\n",
                   r.shards.size(), static_cast<long long>(so->rows), static_cast<long long>(r.rows),
                   r.manifest.c_str(), s);
      return 0;
    }
    if (show->parsed() && data::is_shard_corpus(*show_file)) {
      const data::ShardCorpus c = data::open_shard_corpus(*show_file);
      std::printf("%s: a sharded corpus, %zu shard(s), %lld rows\n", show_file->c_str(), c.shards.size(),
                  static_cast<long long>(c.total_rows));
      for (const auto& a : c.arrays)
        std::printf("  %s %s [N%s%s]\n", a.name.c_str(), dtype_name(a.dtype), a.row_shape.empty() ? "" : ",",
                    fmt::format("{}", fmt::join(a.row_shape, ",")).c_str());
      return 0;
    }
    if (show->parsed()) {
      std::printf("%s", data::describe_data_file(*show_file).c_str());
      return 0;
    }
    if (convert->parsed()) {
      const auto t0 = std::chrono::steady_clock::now();
      const std::vector<std::string> lines = data::convert_to_npz(cv->in, cv->out, cv->layout, cv->columns);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "wrote %s in %.2f s:\n", cv->out.c_str(), s);
      for (const auto& l : lines) std::fprintf(stderr, "  %s\n", l.c_str());
      return 0;
    }
    const auto t0 = std::chrono::steady_clock::now();
    if (photos->parsed()) {
      const std::vector<std::string> all = data::list_photos(o->photos);
      const std::vector<bool> eval = data::eval_mask(all);
      std::vector<std::string> rows;  // every photo is decoded before anything is printed
      size_t n_eval = 0;
      for (size_t i = 0; i < all.size(); ++i) {
        const data::Luma8 img = data::load_luma(all[i]);
        n_eval += eval[i];
        rows.push_back(fmt::format("  {:3}  {:<28} {:>5}x{:<5} scene {:<20} {}", i,
                                   std::filesystem::path(all[i]).filename().string(), img.width, img.height,
                                   data::photo_scene(all[i]), eval[i] ? "eval" : "train"));
      }
      std::printf(
          "%zu photo(s) in %s: %zu train, %zu eval (scenes sorted by name, every %dth scene is eval)\n",
          all.size(), o->photos.c_str(), all.size() - n_eval, n_eval, data::kEvalEvery);
      for (const auto& r : rows) std::printf("%s\n", r.c_str());
      return 0;
    }
    if (fp->parsed()) {
      check_out(o->fp_out);
      data::FilterPairsOptions opt = o->fp;
      opt.split = data::parse_split(o->split);
      opt.input_name = o->fp_out.input_name;
      const NamedTensors set = data::filter_pairs(o->photos, opt, progress_line);
      write_set(o->fp_out, set, t0);
      write_preview(o->fp_out.preview, {find(set, "clean").second, find(set, opt.input_name).second});
      return 0;
    }
    if (nr->parsed()) {
      check_out(o->nr_out);
      data::NrFramesOptions opt = o->nr;
      opt.split = data::parse_split(o->split);
      opt.input_name = o->nr_out.input_name;
      const NamedTensors set = data::nr_frames(o->photos, opt, progress_line);
      write_set(o->nr_out, set, t0);
      write_preview(o->nr_out.preview, {find(set, opt.input_name).second});
      return 0;
    }
    if (ft->parsed()) {
      check_out(o->ft_out);
      const NamedTensors set = data::features_from_csv(o->csv, o->ft_out.input_name);
      std::fprintf(stderr, "read %s: %ld rows\n", o->csv.c_str(), static_cast<long>(set[1].second.dim(0)));
      write_set(o->ft_out, set, t0);
      return 0;
    }
    return 2;
  };
}

}  // namespace tinyqat::cli
