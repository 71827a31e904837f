#!/usr/bin/env bash
# PagedEviction reference (models/hf_reference.py) at Llama-3.2-1B's shape with random weights, on one
# CUDA GPU, offline: KV memory and decode tokens/s with and without eviction at long context.
# Needs python3 with CUDA torch and transformers (vLLM is not needed). Runs in well under 5 minutes
# on an H200. Usage: bench/gpu_check.sh [OUT_JSON]   (default: $OUT/gpu_check.json or bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT_JSON=${1:-${OUT:-bench/out}/gpu_check.json}
mkdir -p "$(dirname "$OUT_JSON")"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
timeout 290 "$PY" - "$OUT_JSON" <<'PYEOF'
import json, sys, time
import os
import torch
SMOKE = os.environ.get("GPU_CHECK_SMOKE") == "1"  # a tiny CPU run that checks the script itself
DEV = "cpu" if SMOKE else "cuda"
if not SMOKE and not torch.cuda.is_available():
    sys.exit("gpu_check: no CUDA device visible to torch")
sync = torch.cuda.synchronize if not SMOKE else (lambda: None)
from transformers import LlamaConfig, LlamaForCausalLM
sys.path.insert(0, ".")
from models.eviction import make_policy
from models.hf_reference import EvictingSession

cfg = LlamaConfig(  # meta-llama/Llama-3.2-1B's shape; weights are random (no hub access)
    **{"vocab_size": 128256, "num_hidden_layers": 16, **({"num_hidden_layers": 1, "vocab_size": 1000} if SMOKE else {})},
    hidden_size=2048, intermediate_size=8192,
    num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=131072,
    rope_theta=500000.0, tie_word_embeddings=True, torch_dtype="bfloat16",
)
torch.manual_seed(0)
with torch.device(DEV):
    model = LlamaForCausalLM(cfg).to(torch.bfloat16).eval()
results = {"device": "cpu (smoke)" if SMOKE else torch.cuda.get_device_name(0), "shape": "Llama-3.2-1B (random weights)", "runs": []}
NEW = 16 if SMOKE else 256
for context in ((256,) if SMOKE else (8192, 32768)):
    prompt = torch.randint(10, cfg.vocab_size, (context,), generator=torch.Generator().manual_seed(1)).tolist()
    for label, budget in (("full", None), ("paged@25%", context // 4), ("paged@2048", 64 if SMOKE else 2048)):
        policy = make_policy("paged", budget, 32) if budget else None
        if not SMOKE:
            torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
        sync()
        s = EvictingSession(model, policy)
        t0 = time.perf_counter(); tok = int(s.prefill(prompt).argmax()); sync()
        t1 = time.perf_counter()
        for _ in range(NEW - 1):
            tok = int(s.step(tok).argmax())
        sync(); t2 = time.perf_counter()
        run = {"context": context, "config": label, "budget": budget, "prefill_s": round(t1 - t0, 3),
               "decode_tok_s": round((NEW - 1) / (t2 - t1), 1), "kv_tokens": s.kv_tokens,
               "kv_mib": round(s.kv_bytes / 2**20, 1), "max_blocks": s.max_blocks,
               "peak_mem_gib": 0 if SMOKE else round(torch.cuda.max_memory_allocated() / 2**30, 2)}
        print(json.dumps(run), flush=True)
        results["runs"].append(run)
        del s
json.dump(results, open(sys.argv[1], "w"), indent=1)
print("wrote", sys.argv[1])
PYEOF
