// llama.cpp's own quantizer (what its llama-quantize tool calls), built against the libllama
// that node-llama-cpp ships: rewrites a GGUF with llama.cpp's GGUF writer and quantizers.
// Usage: still-llama-quantize IN.gguf OUT.gguf FTYPE   (FTYPE: 7 = Q8_0, 2 = Q4_0, 1 = F16)
#include <stdio.h>
#include <stdlib.h>

#include "llama.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s IN.gguf OUT.gguf FTYPE\n", argv[0]);
    return 2;
  }
  llama_backend_init();
  struct llama_model_quantize_params p = llama_model_quantize_default_params();
  p.ftype = (enum llama_ftype)atoi(argv[3]);
  p.nthread = 1;
  p.pure = true;  // every matrix in the requested type (no Q6_K output tensor)
  uint32_t rc = llama_model_quantize(argv[1], argv[2], &p);
  llama_backend_free();
  return rc == 0 ? 0 : 1;
}
