// Package explain is the "seeing inside" stage: it turns a model and its
// predictions into what a clinician or reviewer looks at.
//
//   - Attention videos ([Attention]): every head of every MViT block,
//     rendered as the authors' visualize_attentions.py does (each non-CLS
//     query token's post-softmax weight on the CLS key, nearest-interpolated
//     to the input clip, magma colour map, each frame min–max scaled), plus
//     the input clip, an attention rollout across blocks, one grid video per
//     block and a contact sheet PNG per clip; MP4 through ffmpeg when it is on
//     PATH, animated GIF otherwise.
//   - View attention ([Views]): the relative multi-instance attention each
//     view receives per target, with bootstrap intervals over studies, as CSV
//     and a heat map (the paper's Figure 4c).
//   - UMAP of embeddings ([UMAP]), with package explain/umap doing the
//     projection.
//
// Output file names are constants of this package and stable, so reports
// can link them.
package explain
