// Package finetune trains and applies cmrfm's downstream models: a video
// encoder (MViT), its projection to a 512-d L2-normalised embedding per
// clip, and the gated-attention multi-instance head that pools a study's
// clips into an LVEF prediction (regression, Huber loss) or one
// probability per disease (classification, weighted BCE), with the
// attention each clip received (docs/reference.md §2.2–2.7, §3.2–3.6).
//
// Modes: linear (only the head trains), finetune (encoder frozen;
// projection and head train — the paper's fine-tuning) and transfer
// (everything trains — the paper's transfer learning). The authors' code
// never optimised the head; NetConfig.ReferenceOptimizer reproduces that.
// Initial weights come from a cmrfm pretraining checkpoint, the authors'
// Lightning checkpoint or Kinetics-400 MViT weights (the paper's
// baseline).
//
// [Run] trains with the shared loop of package train (AdamW, step decay,
// accumulation, checkpoints, bit-identical resume, metrics, plots);
// [Predict] writes the paper's prediction tables with per-view attention.
// docs/finetune.md documents both.
package finetune
