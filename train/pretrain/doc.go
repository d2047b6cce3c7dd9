// Package pretrain is cmrfm's contrastive video–text pretraining: the
// method of the paper (docs/reference.md §3.7) whose code the authors never
// released.
//
// A study's clip goes through MViT, a linear projection to 512 and L2
// normalisation; k sampled sentences of its report go through BERT, a
// pooling, a linear projection to 512 and L2 normalisation. The asymmetric
// InfoNCE of [ContrastiveLoss] pulls matching (clip, report) pairs of a
// batch together and pushes the others apart, with flooding. Optimisation
// (AdamW, step decay, gradient accumulation and clipping, checkpoints,
// metrics) comes from the shared training core in package train.
package pretrain
