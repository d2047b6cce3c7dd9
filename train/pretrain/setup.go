package pretrain

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/text"
	"github.com/cmrfm/cmrfm/train/data"
)

// Data is what a run reads: the dataset index, the report index and the
// train and validation loaders.
type Data struct {
	Index      *store.Index
	Reports    *text.Index
	Train, Val *Loader // Val is nil without a validation split
}

// OpenData reads the store's index and the report index named by c and
// builds the loaders. Studies without a report are left out (and
// counted in the log).
func OpenData(c Config, mc NetConfig, log *slog.Logger) (*Data, error) {
	if c.Data.Store == "" || c.Data.Reports == "" {
		return nil, fmt.Errorf("pretrain: data.store and data.reports are required")
	}
	indexPath := c.Data.Index
	if indexPath == "" {
		indexPath = filepath.Join(c.Data.Store, "index.csv")
	}
	f, err := os.Open(indexPath)
	if err != nil {
		return nil, fmt.Errorf("pretrain: dataset index: %w", err)
	}
	index, err := store.ReadIndex(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("pretrain: %s: %w", indexPath, err)
	}
	reports, err := text.LoadIndex(c.Data.Reports)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	return NewData(c, mc, index, reports, log)
}

// NewData builds the loaders over an index and a report index already in
// memory.
func NewData(c Config, mc NetConfig, index *store.Index, reports *text.Index, log *slog.Logger) (*Data, error) {
	trainTr, valTr, err := c.Transforms(mc)
	if err != nil {
		return nil, err
	}
	views, err := c.ViewList()
	if err != nil {
		return nil, err
	}
	d := &Data{Index: index, Reports: reports}
	mk := func(split string, tr data.Transform, shuffle bool) (*Loader, error) {
		rows, missing := PairedRows(index, split, reports)
		if missing > 0 && log != nil {
			log.Warn("studies without a report left out", "split", split, "studies", missing)
		}
		if len(rows) < c.Trainer.BatchSize {
			return nil, fmt.Errorf("pretrain: split %q has %d studies with a report, fewer than one batch of %d", split, len(rows), c.Trainer.BatchSize)
		}
		tb, err := NewTextBatcher(reports, mc, TextOptions{Seed: c.Seed, Shuffle: c.Data.ShuffleSentences})
		if err != nil {
			return nil, err
		}
		if c.Data.ShufflePairs && shuffle {
			// The control trains on mismatched pairs; validation always
			// scores the true pairs, so it shows whether the pairing was
			// learned.
			tb.Derange(rowKeys(rows), c.Seed)
		}
		ds := &data.ClipDataset{Root: c.Data.Store, Rows: rows, Views: views, Clip: c.ClipOptions(mc), Transform: tr, Seed: c.Seed}
		return &Loader{Clips: ds, Text: tb, BatchSize: c.Trainer.BatchSize, Workers: c.Data.Workers, Depth: c.Data.Prefetch,
			Shuffle: shuffle, Channels: mc.Video.InChannels, Log: log}, nil
	}
	if d.Train, err = mk(c.Data.TrainSplit, trainTr, true); err != nil {
		return nil, err
	}
	if c.Data.ValSplit != "" {
		if d.Val, err = mk(c.Data.ValSplit, valTr, false); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func rowKeys(rows []store.IndexRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Filename()
	}
	return out
}
