// Times MViT-B 16x4 (features, 1x3x16x224x224) in onnxruntime-node, CPU execution provider.
// Usage: NODE_PATH=<dir with node_modules> node bench/ort_mvit.mjs DIR [threads=2] [reps=3]
// DIR holds mvit_v1_b_features.onnx (testdata/gen/mvit/full_mvit.py DIR onnx), input.npy and golden.safetensors.
// Prints one JSON line: onnxruntime version, threads, median/min wall seconds of `reps` runs after a warm-up,
// and the max |features - torch golden|.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const [dir, threadsArg, repsArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 2), reps = Number(repsArg ?? 3);
const require = createRequire(process.env.ORT_PREFIX ? process.env.ORT_PREFIX + '/package.json' : import.meta.url);
const ort = require('onnxruntime-node');
const version = require('onnxruntime-node/package.json').version;

function npy(path) { // float32 little-endian, C order
  const b = fs.readFileSync(path);
  const hlen = b.readUInt16LE(8);
  const header = b.slice(10, 10 + hlen).toString();
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True")) throw new Error(`${path}: want C-order float32`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const d = b.slice(10 + hlen);
  return { shape, data: new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.length)) };
}

function safetensor(path, name) { // one F32 tensor
  const b = fs.readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  const h = JSON.parse(b.slice(8, 8 + n).toString())[name];
  const [s, e] = h.data_offsets;
  const d = b.slice(8 + n + s, 8 + n + e);
  return new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.length));
}

const x = npy(`${dir}/input.npy`);
const session = await ort.InferenceSession.create(`${dir}/mvit_v1_b_features.onnx`,
  { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
const feeds = { x: new ort.Tensor('float32', x.data, x.shape) };
let y = (await session.run(feeds)).features.data; // warm-up
const times = [];
for (let i = 0; i < reps; i++) {
  const t0 = performance.now();
  y = (await session.run(feeds)).features.data;
  times.push((performance.now() - t0) / 1000);
}
const golden = safetensor(`${dir}/golden.safetensors`, 'features');
let diff = 0;
for (let i = 0; i < y.length; i++) diff = Math.max(diff, Math.abs(y[i] - golden[i]));
const sorted = [...times].sort((a, b) => a - b);
console.log(JSON.stringify({ onnxruntime: version, threads, median_s: sorted[Math.floor(sorted.length / 2)],
  min_s: sorted[0], times_s: times.map(t => +t.toFixed(3)), max_abs_vs_torch: diff }));
