package retrieval

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/cmrfm/cmrfm/text"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/pretrain"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Model is a contrastive pretraining checkpoint loaded for inference: its
// two towers with frozen weights.
type Model struct {
	// Path and SHA256 identify the checkpoint (SHA256 is the tensor-data
	// hash the checkpoint carries and loading verifies).
	Path, SHA256 string
	// Config is the run's configuration, MC its resolved model.
	Config pretrain.Config
	MC     pretrain.NetConfig
	// ConfigYAML is the configuration as the checkpoint stores it.
	ConfigYAML string

	backend compute.Backend
	store   *model.Store
	towers  pretrain.Towers

	mu         sync.Mutex
	video, txt *model.Exec
}

// LoadModel reads a cmrfm pretrain checkpoint (its configuration is
// inside). A nil backend means ops.NewBackend(""): $GOMLX_BACKEND or the
// pure-Go backend on every CPU.
func LoadModel(path string, backend compute.Backend) (*Model, error) {
	ck, err := train.LoadCheckpoint(path)
	if err != nil {
		return nil, fmt.Errorf("retrieval: checkpoint: %w", err)
	}
	if ck.Kind != pretrain.Kind {
		return nil, fmt.Errorf("retrieval: %s is a %q checkpoint; embeddings need a contrastive pretraining (cmrfm pretrain) checkpoint", path, ck.Kind)
	}
	// A checkpoint's stored configuration is not the user's to edit: its
	// deprecated key names are renamed silently.
	cfg, err := pretrain.ParseConfig([]byte(ck.Config), pretrain.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, fmt.Errorf("retrieval: %s: %w", path, err)
	}
	mc, err := cfg.Net()
	if err != nil {
		return nil, fmt.Errorf("retrieval: %s: %w", path, err)
	}
	st := model.NewStore()
	if _, err := ck.Restore(st, "/"+pretrain.ScopeModel+"/"); err != nil {
		return nil, fmt.Errorf("retrieval: %s: %w", path, err)
	}
	if backend == nil {
		if backend, err = ops.NewInferenceBackend(cfg.Trainer.Backend); err != nil {
			return nil, err
		}
	}
	return &Model{Path: path, SHA256: ck.Set.Metadata[weights.MetaSHA256], Config: cfg, MC: mc, ConfigYAML: ck.Config,
		backend: backend, store: st, towers: pretrain.NewTowers(st)}, nil
}

// Dim is the embedding width.
func (m *Model) Dim() int { return m.MC.EmbedDim }

func (m *Model) videoExec() (*model.Exec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.video == nil {
		e, err := model.NewExec(m.backend, m.store, func(_ *model.Scope, clips *graph.Node) *graph.Node {
			m.store.SetTraining(clips.Graph(), false) // weights never change: they may enter as constants
			return pretrain.VideoEmbedding(m.towers, m.MC, clips)
		})
		if err != nil {
			return nil, fmt.Errorf("retrieval: video tower: %w", err)
		}
		m.video = e
	}
	return m.video, nil
}

func (m *Model) textExec() (*model.Exec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.txt == nil {
		e, err := model.NewExec(m.backend, m.store, func(_ *model.Scope, ids, mask *graph.Node) *graph.Node {
			m.store.SetTraining(ids.Graph(), false)
			return pretrain.TextEmbedding(m.towers, m.MC, ids, mask)
		})
		if err != nil {
			return nil, fmt.Errorf("retrieval: text tower: %w", err)
		}
		m.txt = e
	}
	return m.txt, nil
}

// EmbedClips runs the video tower on a batch of clips (dims [B, C, T, H,
// W], as the video tower wants them) and returns [B, Dim] embeddings.
func (m *Model) EmbedClips(clips []float32, dims [5]int) ([]float32, error) {
	want := m.MC.ClipShape(dims[0]).Dimensions
	for i := range dims {
		if dims[i] != want[i] {
			return nil, fmt.Errorf("retrieval: clips %v, the video tower wants %v", dims, want)
		}
	}
	e, err := m.videoExec()
	if err != nil {
		return nil, err
	}
	out, err := e.Call1(tensors.FromFlatDataAndDimensions(clips, dims[:]...))
	if err != nil {
		return nil, fmt.Errorf("retrieval: video tower: %w", err)
	}
	return tensors.MustCopyFlatData[float32](out), nil
}

// EmbedTokens runs the text tower on b texts' ids and mask (laid out as
// ModelConfig.TextShape(b)) and returns [b, Dim] embeddings.
func (m *Model) EmbedTokens(ids, mask []int32, b int) ([]float32, error) {
	ts := m.MC.TextShape(b)
	n := 1
	for _, d := range ts {
		n *= d
	}
	if len(ids) != n || len(mask) != n {
		return nil, fmt.Errorf("retrieval: %d ids and %d mask values for text shape %v", len(ids), len(mask), ts)
	}
	e, err := m.textExec()
	if err != nil {
		return nil, err
	}
	out, err := e.Call1(tensors.FromFlatDataAndDimensions(ids, ts...), tensors.FromFlatDataAndDimensions(mask, ts...))
	if err != nil {
		return nil, fmt.Errorf("retrieval: text tower: %w", err)
	}
	return tensors.MustCopyFlatData[float32](out), nil
}

// TextEncoder embeds free text (queries, prompts) exactly as Embed embeds
// a report: split into sentences by the report index's splitter, WordPiece
// ids from its tokenizer, then pretraining's evaluation rule (k sentences
// drawn by text.Sampler with the run's seed at draw 0 — all of them, in
// order, for a text of at most k sentences) and the text tower.
type TextEncoder struct {
	m    *Model
	tok  *text.Tokenizer
	info TextInfo
	// Batch is the number of texts per forward pass (default 16).
	Batch int
}

// NewTextEncoder returns an encoder for m with the tokenizer and splitter
// of info. vocab, when set, overrides the vocabulary named in info (a
// vocab.txt moved since); its SHA-256 must still match.
func NewTextEncoder(m *Model, info TextInfo, vocab string) (*TextEncoder, error) {
	name := info.Tokenizer.Vocab
	if vocab != "" {
		name = vocab
	}
	if name == "" {
		return nil, fmt.Errorf("retrieval: the report index does not name its vocabulary; give one (e.g. builtin:pubmedbert)")
	}
	tok, err := text.Load(name)
	if err != nil {
		return nil, fmt.Errorf("retrieval: vocabulary %s (the report index's tokenizer; override with a vocabulary path): %w", name, err)
	}
	if sha := tok.Vocab().SHA256(); info.Tokenizer.VocabSHA256 != "" && sha != info.Tokenizer.VocabSHA256 {
		return nil, fmt.Errorf("retrieval: vocabulary %s has sha256 %s, the report index was built with %s", name, sha, info.Tokenizer.VocabSHA256)
	}
	if tok.Vocab().Size() > m.MC.Text.VocabSize {
		return nil, fmt.Errorf("retrieval: vocabulary %s has %d tokens, the text tower only %d embeddings", name, tok.Vocab().Size(), m.MC.Text.VocabSize)
	}
	return &TextEncoder{m: m, tok: tok, info: info, Batch: 16}, nil
}

// Encode returns the [len(texts), Dim] embeddings of texts. An empty text
// (no sentence) is an error naming it.
func (e *TextEncoder) Encode(texts []string) ([]float32, error) {
	var jsonl strings.Builder
	keys := make([]string, len(texts))
	for i, t := range texts {
		keys[i] = fmt.Sprintf("text-%06d", i)
		fmt.Fprintf(&jsonl, "{\"key\":%q,\"text\":%q}\n", keys[i], t)
	}
	ti := e.info.Tokenizer
	idx, err := text.BuildIndex(strings.NewReader(jsonl.String()), "query", e.tok,
		text.IndexOptions{Format: "jsonl", KeyColumn: "key", TextColumn: "text", Splitter: e.info.Splitter, VocabName: ti.Vocab})
	if err != nil {
		return nil, fmt.Errorf("retrieval: %w", err)
	}
	for _, s := range idx.Skipped {
		var n int
		fmt.Sscanf(s.Key, "text-%d", &n)
		return nil, fmt.Errorf("retrieval: text %d (%q): %s", n+1, clip(texts[n], 60), s.Reason)
	}
	tb, err := pretrain.NewTextBatcher(idx, e.m.MC, pretrain.TextOptions{Seed: e.m.Config.Seed, Shuffle: e.m.Config.Data.ShuffleSentences})
	if err != nil {
		return nil, fmt.Errorf("retrieval: %w", err)
	}
	return embedKeys(e.m, tb, keys, 0, max(e.Batch, 1))
}

// embedKeys embeds the texts of keys through tb at a draw, in batches of
// batch (the last padded by repeating its first text, so every pass has
// the same shape and compiles once).
func embedKeys(m *Model, tb *pretrain.TextBatcher, keys []string, draw int64, batch int) ([]float32, error) {
	d := m.Dim()
	out := make([]float32, 0, len(keys)*d)
	for start := 0; start < len(keys); start += batch {
		chunk := keys[start:min(start+batch, len(keys))]
		n := len(chunk)
		padded := chunk
		for len(padded) < batch {
			padded = append(padded[:len(padded):len(padded)], chunk[0])
		}
		ids, mask, err := tb.Batch(padded, draw)
		if err != nil {
			return nil, fmt.Errorf("retrieval: %w", err)
		}
		emb, err := m.EmbedTokens(ids, mask, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, emb[:n*d]...)
	}
	return out, nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
