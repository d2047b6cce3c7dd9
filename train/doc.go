// Package train is cmrfm's training core, shared by fine-tuning
// (train/finetune) and contrastive pretraining (train/pretrain):
//
//   - [AdamW] and [Optimizer]: torch.optim.AdamW semantics (decoupled
//     weight decay, bias-corrected moments) with a [DecayPolicy]
//     (all variables, as the authors' code, or matrices only), optional
//     global-norm gradient clipping (torch clip_grad_norm_) and gradient
//     accumulation, built into the training graph with the optimiser state
//     held in store variables under /optimizer;
//   - [Schedule]: step decay (torch StepLR, chainable form, fractional step
//     sizes included) or milestones (MultiStepLR), per epoch or per update;
//   - [SaveCheckpoint] / [LoadCheckpoint]: atomic safetensors checkpoints of
//     every store variable (model, optimiser, RNG) plus the loop [State],
//     checksummed;
//   - [Metrics]: metrics.csv and metrics.jsonl with deterministic
//     formatting, and [PlotMetrics] for loss curves;
//   - [Runner]: the loop itself — epochs of batches from a [Source],
//     accumulation, schedule, validation, checkpoints, progress bar, and
//     interruption with bit-identical resume.
//
// docs/training.md documents the API and the checkpoint format.
package train
