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
//     formatting (package report draws them: report.PlotMetrics);
//   - [TrainerConfig]: the "trainer" section every trainer's YAML shares
//     (bounds, metrics, validation and checkpoint intervals, each named by
//     its unit);
//   - [Runner]: the loop itself — epochs of batches from a [Source],
//     accumulation, schedule, validation, checkpoints, interruption with
//     bit-identical resume (refused when the run's identity, its
//     configuration without machine settings, differs), and progress and
//     metrics rows reported through [Hooks] for the command to render.
//
// docs/pretraining.md and docs/finetune.md document the loops, the
// checkpoints and resume; package traintest holds the resume tests'
// assertions.
package train
