// Package retrieval uses a contrastive pretraining checkpoint as a search
// engine, as CLIP-style medical models (EchoCLIP, CMR-CLIP) are used: it
// embeds studies and reports into the joint video–text space (Embed, an
// HDF5 embeddings file), finds the studies and reports nearest to a
// sentence or a study (Index, Searcher), diagnoses with prompts and no
// labels (ZeroShot), and scores cross-modal retrieval on any split and
// pool size (EvaluateRetrieval, with stats.PairRanks' rank convention:
// ties count against the model).
//
// docs/retrieval.md describes the commands, the file format and the
// phantom proof; docs/benchmarks.md the search benchmark.
package retrieval
