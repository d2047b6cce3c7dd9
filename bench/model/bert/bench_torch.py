#!/usr/bin/env python3
"""Times the torch BERT-base forward (bert_ref.py, HF modeling_bert semantics) on Debian's PyTorch, 1 thread
(THREADS=n in the environment: n threads).

Run (apt: python3-torch python3-numpy libopenblas0-pthread):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/model/bert/bench_torch.py [batch=8] [seq=128] [reps=5]
Prints one JSON line: {"torch": version, "batch", "seq", "threads": 1, "median_s", "cpu_s_median" (process CPU seconds), "min_s", "times_s": [...]}.
model/bert's BenchmarkTorchForward runs this in the same `go test -bench` run as BenchmarkForwardBertBase.
"""
import json
import os
import statistics
import sys
import time

threads = int(os.environ.get('THREADS', '1'))
os.environ.setdefault('OPENBLAS_NUM_THREADS', str(threads))
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'testdata', 'gen', 'model', 'bert'))
import bert_ref  # noqa: E402

torch.set_num_threads(threads)
batch = int(sys.argv[1]) if len(sys.argv) > 1 else 8
seq = int(sys.argv[2]) if len(sys.argv) > 2 else 128
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
c = bert_ref.BERT_BASE
m = bert_ref.make_model(c, 0)
ids, tt, mask = bert_ref.make_inputs(c, batch, seq, 1, [seq // 4 * (i % 2) for i in range(batch)])
times, cpus = [], []
with torch.inference_mode():
    m(ids, tt, mask)  # warm-up
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        m(ids, tt, mask)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
print(json.dumps({'torch': torch.__version__, 'batch': batch, 'seq': seq, 'threads': torch.get_num_threads(),
                  'openblas_threads': os.environ.get('OPENBLAS_NUM_THREADS'), 'median_s': statistics.median(times), 'cpu_s_median': statistics.median(cpus),
                  'min_s': min(times), 'times_s': times}))
