// umap-js (npm umap-js@1.4.0, PAIR-code) on sklearn's bundled data sets, the second UMAP oracle
// of explain/umap. Usage: node umapjs.js DATA_DIR OUT_DIR; writes OUT_DIR/<name>.<seed>.csv.
// Parameters: umap-learn's defaults where umap-js has them (n_neighbors 15, min_dist 0.1,
// spread 1, 500 epochs); umap-js itself uses NN-descent neighbours and a random initialisation.
const fs = require("fs");
const zlib = require("zlib");
const path = require("path");
const { UMAP } = require("umap-js");

// mulberry32: a seeded generator for umap-js's random option.
function mulberry32(a) {
  return function () {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function load(dir, name) {
  const file = { digits: "digits.csv.gz", iris: "iris.csv", wine: "wine_data.csv", breast_cancer: "breast_cancer.csv" }[name];
  let text = fs.readFileSync(path.join(dir, file));
  if (file.endsWith(".gz")) text = zlib.gunzipSync(text);
  let lines = text.toString().trim().split("\n");
  if (name !== "digits") lines = lines.slice(1);
  return lines.map((l) => l.split(",").slice(0, -1).map(Number));
}

const [dataDir, outDir] = process.argv.slice(2);
for (const name of ["iris", "wine", "breast_cancer", "digits"]) {
  const X = load(dataDir, name);
  for (const seed of [1, 2, 3]) {
    const umap = new UMAP({ nComponents: 2, nNeighbors: 15, minDist: 0.1, spread: 1, nEpochs: 500, random: mulberry32(seed) });
    const Y = umap.fit(X);
    fs.writeFileSync(path.join(outDir, `${name}.${seed}.csv`), Y.map((r) => r.join(",")).join("\n") + "\n");
    console.log(name, seed, X.length);
  }
}
