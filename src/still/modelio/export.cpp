#include "still/modelio/export.h"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <optional>

#include "still/formats/gguf_writer.h"
#include "still/formats/hf_model.h"
#include "still/formats/quant.h"
#include "still/io/atomic_file.h"
#include "still/model/params.h"
#include "still/modelio/export_tokenizer.h"
#include "still/modelio/gguf_llama.h"
#include "still/modelio/load.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still {
namespace {

constexpr float kF16Max = 65504.0f;

GgmlType parse_dtype(const std::string& s, bool gguf) {
  if (s == "f32") return GgmlType::kF32;
  if (s == "f16") return GgmlType::kF16;
  if (s == "bf16") return GgmlType::kBF16;
  if (gguf && s == "q8_0") return GgmlType::kQ8_0;
  if (gguf && s == "q4_0") return GgmlType::kQ4_0;
  throw Error("export: --dtype " + s + " is not supported for " +
              (gguf ? std::string("GGUF (use f32, f16, bf16, q8_0 or q4_0)")
                    : std::string("Hugging Face safetensors (use f32, f16 or bf16)")));
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(uint8_t(c)));
  return s;
}

bool fits_f16(const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(x[i]) && std::fabs(x[i]) > kF16Max) return false;
  return true;
}

// The type a tensor gets: the requested one unless its shape or values forbid it, in which case
// the fallback is recorded with the reason.
GgmlType choose_type(GgmlType want, const std::string& name, int64_t row, const float* x, size_t n,
                     std::vector<std::string>& fallbacks) {
  GgmlType t = want;
  std::string why;
  if ((t == GgmlType::kQ8_0 || t == GgmlType::kQ4_0) && row % kQuantBlock != 0) {
    why = "rows of " + std::to_string(row) + " are not a multiple of 32";
    t = GgmlType::kF16;
  }
  if (t == GgmlType::kF16 && !fits_f16(x, n)) {
    why += std::string(why.empty() ? "" : "; ") + "values exceed f16's range";
    t = GgmlType::kF32;
  }
  if (t != want)
    fallbacks.push_back(name + ": wanted " + lower(ggml_type_name(want)) + ", wrote " +
                        lower(ggml_type_name(t)) + " (" + why + ")");
  return t;
}

uint32_t gguf_file_type(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return 0;
    case GgmlType::kF16:
      return 1;
    case GgmlType::kQ4_0:
      return 2;
    case GgmlType::kQ8_0:
      return 7;
    case GgmlType::kBF16:
      return 32;
    default:
      return 0;
  }
}

uint64_t file_size(const std::string& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : uint64_t(n);
}

}  // namespace

ExportReport export_gguf(const LlamaConfig& config, const float* params, const std::string& out,
                         const ExportOptions& opts) {
  config.validate();
  const GgmlType want = parse_dtype(opts.dtype, true);
  const std::string arch = gguf_arch_for(config);
  const bool permute = gguf_arch_permutes_qk(arch);
  ExportReport report;
  report.path = out;

  GgufWriter w;
  w.set_string("general.name", opts.name);
  write_gguf_hparams(config, w);
  w.set_u32("general.file_type", gguf_file_type(want));
  if (want == GgmlType::kQ8_0 || want == GgmlType::kQ4_0)
    w.set_u32("general.quantization_version", 2);
  report.tokenizer = add_gguf_tokenizer(opts.tokenizer_source, config, w);

  std::vector<float> freqs = gguf_rope_freqs(config);
  if (!freqs.empty())
    w.add_tensor("rope_freqs.weight", {int64_t(freqs.size())}, GgmlType::kF32,
                 quantize(GgmlType::kF32, freqs.data(), int64_t(freqs.size())));

  ParamLayout layout(config);
  std::vector<float> tmp;
  std::optional<Progress> progress;  // only exports that take noticeable time show one
  if (layout.total() * 4 >= (256ull << 20))
    progress.emplace("writing " + out, int64_t(layout.tensors().size()), "tensors");
  int64_t done = 0;
  for (auto& t : layout.tensors()) {
    const std::string gname = gguf_tensor_name(t.name);
    require(!gname.empty(), "export: tensor " + t.name + " has no GGUF name");
    const float* x = params + t.offset;
    const bool is_q = t.name.find("self_attn.q_proj.") != std::string::npos;
    const bool is_k = t.name.find("self_attn.k_proj.") != std::string::npos;
    if (permute && (is_q || is_k)) {
      tmp.resize(t.numel);
      const int64_t rows = t.shape[0], cols = t.shape.size() > 1 ? t.shape[1] : 1;
      permute_qk_hf_to_gguf(x, tmp.data(), rows, cols, is_q ? config.n_heads : config.n_kv_heads);
      x = tmp.data();
    }
    std::vector<int64_t> dims(t.shape.rbegin(), t.shape.rend());
    // llama.cpp keeps 1-D tensors (norms, biases) in f32 whatever the file type.
    GgmlType type = t.shape.size() == 1
                        ? GgmlType::kF32
                        : choose_type(want, t.name, dims[0], x, t.numel, report.fallbacks);
    w.add_tensor(gname, dims, type, quantize(type, x, int64_t(t.numel)));
    if (progress) progress->update(++done);
  }
  if (progress) progress->finish();
  for (auto& f : report.fallbacks) log_warn("export: " + f);
  make_dirs(parent_dir(out));
  w.write(out);
  report.bytes = file_size(out);
  return report;
}

ExportReport export_hf(const LlamaConfig& config, const float* params, const std::string& out_dir,
                       const ExportOptions& opts) {
  config.validate();
  const GgmlType want = parse_dtype(opts.dtype, false);
  ExportReport report;
  report.path = out_dir;
  make_dirs(out_dir);

  ParamLayout layout(config);
  std::vector<std::vector<uint8_t>> buffers;
  buffers.reserve(layout.tensors().size());
  std::vector<SafetensorsWriteEntry> entries;
  for (auto& t : layout.tensors()) {
    const float* x = params + t.offset;
    GgmlType type = choose_type(want, t.name, t.shape.back(), x, t.numel, report.fallbacks);
    buffers.push_back(quantize(type, x, int64_t(t.numel)));
    DType dt = type == GgmlType::kF32   ? DType::kF32
               : type == GgmlType::kF16 ? DType::kF16
                                        : DType::kBF16;
    entries.push_back({t.name, dt, t.shape, buffers.back().data()});
  }
  for (auto& f : report.fallbacks) log_warn("export: " + f);
  write_safetensors_sharded(out_dir, entries, opts.max_shard_bytes, {{"format", "pt"}});

  nlohmann::json cfg = config.to_hf_json();
  cfg["torch_dtype"] = want == GgmlType::kF32   ? "float32"
                       : want == GgmlType::kF16 ? "float16"
                                                : "bfloat16";
  write_file_atomic(path_join(out_dir, "config.json"), cfg.dump(2) + "\n");
  report.tokenizer = write_hf_tokenizer(opts.tokenizer_source, config, out_dir);
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(out_dir, ec))
    if (e.is_regular_file()) report.bytes += uint64_t(e.file_size());
  return report;
}

ExportReport export_model(const std::string& model, const std::string& format,
                          const std::string& out, ExportOptions opts) {
  require(format == "gguf" || format == "hf",
          "export: --format must be gguf or hf (got '" + format + "')");
  LlamaConfig config = read_model_config(model);
  std::vector<float> params(ParamLayout(config).total(), 0.0f);
  load_params(model, config, params.data());
  if (opts.tokenizer_source.empty()) opts.tokenizer_source = model;
  return format == "gguf" ? export_gguf(config, params.data(), out, opts)
                          : export_hf(config, params.data(), out, opts);
}

}  // namespace still
