// Package data is cmrfm's training-data pipeline: it turns study files of the
// HDF5 store into the clips, multi-instance bags and batches that the
// pretraining and fine-tuning loops feed to the video encoder, exactly as the
// authors' loader does (docs/reference.md §2.2–2.7), with a switch wherever the
// reference has a bug.
//
// The stages, in the order a loop uses them:
//
//   - Selecting clips from a 4-D view (ClipOptions, SelectClips): the
//     reference's retrieve_mri_video (§2.4), including its off-by-one slice
//     boundaries (RangesReference) or true slice ranges (RangesCorrect).
//   - Building a study's bag (BagOptions, SelectBag): views in the order h5py
//     lists them (byte order), the SAX boundary trimming and drop_samples
//     selection of §2.3 (every second boundary for regression, all for
//     classification) or a seeded random fraction of SAX slices (the paper).
//   - Transforms (Transform, TrainTransform, EvalTransform): pytorchvideo
//     0.1.3's chains of §2.5 — UniformTemporalSubsample(16), AugMix (13 ops,
//     magnitude 3, width 3, depth −1, alpha 1, the same operations on every
//     frame, torchvision 0.14 float semantics including clamp(0,1) and the
//     float→uint8 wrap), Normalize(0.45, 0.225), (Random)ShortSideScale
//     (bilinear), Random/CenterCrop 224, RandomHorizontalFlip and Div255 —
//     producing float32 (c, t, h, w) clips.
//   - Datasets and batches (ClipDataset, BagDataset, Batch, PadBags): one
//     clip per study for contrastive pretraining; one bag per study for the
//     multi-instance heads, padded to a static shape with a mask because
//     XLA needs static shapes.
//   - Parallel loading (Prefetch): worker goroutines and a bounded queue,
//     items delivered in index order whatever the worker count, with the
//     time the consumer waited.
//   - Label helpers (SubsampleByPatient, PosWeight): the data-fraction
//     experiments (§2.2) and the positive-class weight (§2.7).
//
// Randomness: every random choice for item i of epoch e comes from its own
// math/rand/v2 PCG stream seeded from (seed, epoch, i) (NewRNG), so results
// are reproducible and independent of how many workers load them. The
// reference draws from torch's and Python's global generators, so the
// random draws themselves cannot match it; every transform is checked
// against torch/torchvision at fixed parameters instead
// (testdata/gen/train/data/gen_transforms.py).
package data
