#!/usr/bin/env python3
"""Runs every model and training benchmark of docs/benchmarks.md side by side and prints the table.

Called by bench/models.sh (which builds the Go test binaries, makes the reference files and installs
onnxruntime-node); not meant to be run by hand. Environment (set by models.sh):
  OUT       work folder: golden MViT-B files, test binaries, results.jsonl, table.md
  ROOT      repository root; ORT_PREFIX: the npm folder holding onnxruntime-node
  ROUNDS    rounds of the whole set (default 2); each row runs its sides back to back within a round
  ONLY      comma-separated row names to run (default: all)
  SKIP_REF  1: run only the Go side (e.g. with BIN and GO_SIDE set to time another build of cmrfm)
  BIN       folder of the Go test binaries and cmrfm (default OUT/bin); GO_SIDE: the Go side's label
  BEFORE_BIN, BEFORE_SIDE  another build's binaries (e.g. an older commit), timed right after BIN in every row

Each measurement is one JSON line in OUT/results.jsonl: {"row", "side", "round", "wall_s", "cpu_s", ...}.
Go: the benchmark's ns/op (wall, median of the -count runs) and its cpu-s/op (CPU seconds of the process per
operation, all threads). torch: the script's median wall time (and process CPU time where it reports one).
The table shows, per row and side, the median over rounds, and Go's wall time as a ratio of each reference.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

OUT, ROOT = os.environ['OUT'], os.environ['ROOT']
ROUNDS = int(os.environ.get('ROUNDS', '2'))
ONLY = set(filter(None, os.environ.get('ONLY', '').split(',')))
SKIP_REF = os.environ.get('SKIP_REF') == '1'
BIN = os.environ.get('BIN', f'{OUT}/bin')
GO_SIDE = os.environ.get('GO_SIDE', 'cmrfm (Go, 2 cores)')
BUILDS = [(BIN, GO_SIDE)] + ([(os.environ['BEFORE_BIN'], os.environ.get('BEFORE_SIDE', 'cmrfm before'))]
                            if os.environ.get('BEFORE_BIN') else [])
PY = '/usr/bin/python3'
GEN = f'{ROOT}/testdata/gen'
results = open(f'{OUT}/results.jsonl', 'a')


def load():
    return os.getloadavg()[0]


def record(row, side, rnd, wall, cpu=None, **extra):
    rec = dict(row=row, side=side, round=rnd, wall_s=wall, cpu_s=cpu, load=round(load(), 2), **extra)
    results.write(json.dumps(rec) + '\n')
    results.flush()
    print(f'  {row:<28} {side:<22} wall {wall:8.3f} s' + (f'  cpu {cpu:8.3f} s' if cpu else '') +
          f'  (load {rec["load"]})', flush=True)


def run(cmd, env=None, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, env=e, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:])
        raise SystemExit(f'failed: {" ".join(cmd)}')
    return p.stdout


def last_json(out):
    return json.loads([ln for ln in out.splitlines() if ln.startswith('{')][-1])


def torch(row, rnd, script, args, threads, key='median_s', env=None, cpu_key='cpu_s_median'):
    if SKIP_REF:
        return
    e = {'OPENBLAS_NUM_THREADS': str(threads), 'THREADS': str(threads)}
    e.update(env or {})
    j = last_json(run([PY, script] + args, env=e))
    record(row, f'torch {threads} thread' + ('s' if threads > 1 else ''), rnd, j[key], j.get(cpu_key) if cpu_key else None)


def go(row, rnd, pkg, bench, n, count=3):
    """Runs one Go benchmark from each build's prebuilt test binary, in the package folder."""
    for bin_dir, side in BUILDS:
        binary = f'{bin_dir}/{pkg.replace("/", "_")}.test'
        out = run([binary, '-test.run', 'XXX', '-test.bench', f'^{bench}$', '-test.benchtime', f'{n}x',
                   '-test.count', str(count)], cwd=f'{ROOT}/{pkg}')
        walls, cpus = [], []
        for ln in out.splitlines():
            if ln.startswith('Benchmark'):
                m = re.search(r'([\d.]+) ns/op', ln)
                walls.append(float(m.group(1)) / 1e9)
                c = re.search(r'([\d.]+) cpu-s/op', ln)
                if c:
                    cpus.append(float(c.group(1)))
        record(row, side, rnd, statistics.median(walls), statistics.median(cpus) if cpus else None, runs=walls)


def ort(row, rnd, threads):
    if SKIP_REF:
        return
    j = last_json(run(['node', f'{ROOT}/bench/ort_mvit.mjs', f'{OUT}/mvit', str(threads), '3']))
    record(row, f'onnxruntime {threads} threads', rnd, j['median_s'], max_abs_vs_torch=j['max_abs_vs_torch'])


def timed(cmd, env=None):
    """Wall seconds, CPU seconds and max RSS (KB) of a command, from /usr/bin/time."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(['/usr/bin/time', '-f', 'TIME %e %U %S %M'] + cmd, env=e, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:])
        raise SystemExit(f'failed: {" ".join(cmd)}')
    t = [ln for ln in p.stderr.splitlines() if ln.startswith('TIME ')][-1].split()
    return float(t[1]), float(t[2]) + float(t[3]), int(t[4])


MV = f'{GEN}/model/mvit/full_mvit.py'
ROWS = {
    'mvit-forward': lambda r: (
        torch('mvit-forward', r, MV, [f'{OUT}/mvit', 'time'], 1, key='forward_s_median', cpu_key='cpu_s_median'),
        torch('mvit-forward', r, MV, [f'{OUT}/mvit', 'time'], 2, key='forward_s_median', cpu_key='cpu_s_median'),
        ort('mvit-forward', r, 2),
        go('mvit-forward', r, 'model/mvit', 'BenchmarkForwardMViTB16x4', 3)),
    'mvit-train-small': lambda r: (
        torch('mvit-train-small', r, MV, [f'{OUT}/mvit', 'train'], 1, key='train_step_s_median', cpu_key='cpu_s_median',
              env={'REPS': '5'}),
        torch('mvit-train-small', r, MV, [f'{OUT}/mvit', 'train'], 2, key='train_step_s_median', cpu_key='cpu_s_median',
              env={'REPS': '5'}),
        go('mvit-train-small', r, 'model/mvit', 'BenchmarkTrainStepSmall', 5)),
    'bert-forward': lambda r: (
        torch('bert-forward', r, f'{ROOT}/bench/model/bert/bench_torch.py', ['8', '128', '5'], 1),
        torch('bert-forward', r, f'{ROOT}/bench/model/bert/bench_torch.py', ['8', '128', '5'], 2),
        go('bert-forward', r, 'model/bert', 'BenchmarkForwardBertBase', 5)),
    'pretrain-step-tiny': lambda r: (
        torch('pretrain-step-tiny', r, f'{ROOT}/bench/train/pretrain/bench_step.py', ['tiny', 'train', '16', '10', '1'], 1),
        torch('pretrain-step-tiny', r, f'{ROOT}/bench/train/pretrain/bench_step.py', ['tiny', 'train', '16', '10', '2'], 2),
        go('pretrain-step-tiny', r, 'train/pretrain', 'BenchmarkStepTiny', 20)),
    'pretrain-forward-full': lambda r: (
        torch('pretrain-forward-full', r, f'{ROOT}/bench/train/pretrain/bench_step.py', ['full', 'forward', '2', '3', '1'], 1),
        torch('pretrain-forward-full', r, f'{ROOT}/bench/train/pretrain/bench_step.py', ['full', 'forward', '2', '3', '2'], 2),
        go('pretrain-forward-full', r, 'train/pretrain', 'BenchmarkForwardFull', 2, count=2)),
    'finetune-step-transfer': lambda r: (
        torch('finetune-step-transfer', r, f'{ROOT}/bench/train/finetune/bench_step.py', ['transfer', '8', '20', '1'], 1),
        torch('finetune-step-transfer', r, f'{ROOT}/bench/train/finetune/bench_step.py', ['transfer', '8', '20', '2'], 2),
        go('finetune-step-transfer', r, 'train/finetune', 'BenchmarkStepTinyTransfer', 30)),
    'finetune-step-frozen': lambda r: (
        torch('finetune-step-frozen', r, f'{ROOT}/bench/train/finetune/bench_step.py', ['finetune', '8', '20', '1'], 1),
        torch('finetune-step-frozen', r, f'{ROOT}/bench/train/finetune/bench_step.py', ['finetune', '8', '20', '2'], 2),
        go('finetune-step-frozen', r, 'train/finetune', 'BenchmarkStepTinyFinetune', 30)),
    'forward-rss': lambda r: rss(r),
}


def rss(r):
    d = f'{OUT}/mvit'
    for bin_dir, side in BUILDS:
        w, c, kb = timed([f'{bin_dir}/cmrfm', '--log-level', 'error', 'forward', '--arch', 'mvit-b-16x4-torchvision',
                          '--weights', f'{d}/mvit_v1_b.safetensors', '--input', f'{d}/input.npy',
                          '--output', f'{d}/go_features.npy'])
        record('forward-rss', side, r, w, c, max_rss_mb=kb / 1024)
    for threads in () if SKIP_REF else (1, 2):
        w, c, kb = timed([PY, '-c', f'''
import sys, torch, numpy as np, torchvision.models.video as tvv
sys.path.insert(0, "{GEN}")
import st_io
torch.set_num_threads({threads})
m = tvv.mvit_v1_b()
sd, _ = st_io.load("{d}/mvit_v1_b.safetensors")
m.load_state_dict({{k: torch.from_numpy(v.copy()) for k, v in sd.items()}})
m.head = torch.nn.Identity()
m.eval()
with torch.inference_mode():
    np.save("{d}/torch_features.npy", m(torch.from_numpy(np.load("{d}/input.npy"))).numpy())
'''], env={'OPENBLAS_NUM_THREADS': str(threads)})
        record('forward-rss', f'torch {threads} thread' + ('s' if threads > 1 else ''), r, w, c, max_rss_mb=kb / 1024)


def table():
    recs = [json.loads(ln) for ln in open(f'{OUT}/results.jsonl')]
    order = list(ROWS)
    sides = ['torch 1 thread', 'torch 2 threads', 'onnxruntime 2 threads', 'cmrfm (Go, 2 cores)']
    extra = sorted({r['side'] for r in recs} - set(sides))  # other Go builds (GO_SIDE)
    sides = sides[:3] + extra + sides[3:]
    lines = ['| benchmark | ' + ' | '.join(sides) + ' | Go ÷ torch 1 thread | Go ÷ torch 2 threads | Go ÷ onnxruntime |',
             '|---|' + '---|' * (len(sides) + 3)]
    for row in order:
        by = {}
        for r in recs:
            if r['row'] == row:
                by.setdefault(r['side'], []).append(r)
        if not by:
            continue
        med = {s: statistics.median(x['wall_s'] for x in v) for s, v in by.items()}
        cells = []
        for s in sides:
            if s not in by:
                cells.append('')
                continue
            cell = f'{med[s]:.3f} s'
            cpu = [x['cpu_s'] for x in by[s] if x.get('cpu_s')]
            if cpu:
                cell += f' ({statistics.median(cpu):.2f} CPU s)'
            mb = [x['max_rss_mb'] for x in by[s] if x.get('max_rss_mb')]
            if mb:
                cell += f', {statistics.median(mb) / 1024:.2f} GB RSS'
            cells.append(cell)
        g = med.get('cmrfm (Go, 2 cores)')
        ratios = [f'{g / med[s]:.2f}×' if g and s in med else '' for s in
                  ('torch 1 thread', 'torch 2 threads', 'onnxruntime 2 threads')]
        lines.append(f'| {row} | ' + ' | '.join(cells) + ' | ' + ' | '.join(ratios) + ' |')
    loads = [r['load'] for r in recs]
    lines.append('')
    lines.append(f'{len(recs)} measurements, {ROUNDS} round(s); load average during the runs {min(loads):.1f}–{max(loads):.1f}.')
    return '\n'.join(lines)


if __name__ == '__main__':
    if sys.argv[1:] == ['table']:
        print(table())
        raise SystemExit(0)
    for rnd in range(1, ROUNDS + 1):
        print(f'--- round {rnd} of {ROUNDS} (load {load():.2f})', flush=True)
        for name, fn in ROWS.items():
            if not ONLY or name in ONLY:
                t0 = time.time()
                fn(rnd)
                print(f'  ({name}: {time.time() - t0:.0f} s)', flush=True)
    t = table()
    open(f'{OUT}/table.md', 'w').write(t + '\n')
    print(t)
