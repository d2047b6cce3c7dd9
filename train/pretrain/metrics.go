package pretrain

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Row is one line of the metrics files (metrics.csv, metrics.jsonl): a
// training log point, with the validation columns filled on the rows where
// validation ran (NaN / null elsewhere).
type Row struct {
	Step    int     `json:"step"`
	Epoch   int     `json:"epoch"`
	LR      float64 `json:"lr"`
	Loss    float64 `json:"loss"`     // flooded training loss of the update's last batch
	LossRaw float64 `json:"loss_raw"` // before flooding
	// LossAvg is the mean raw training loss since the previous row.
	LossAvg  float64 `json:"loss_avg"`
	GradNorm float64 `json:"grad_norm"` // global gradient norm before clipping
	// SamplesPerSec counts training pairs; DataWait is the seconds the
	// model waited for data since the previous row.
	SamplesPerSec float64 `json:"samples_per_s"`
	DataWait      float64 `json:"data_wait_s"`
	// Validation (omitted when not run at this step).
	Val *ValRow `json:"val,omitempty"`
}

// ValRow is a validation result in the metrics.
type ValRow struct {
	Loss    float64 `json:"val_loss"`
	LossRaw float64 `json:"val_loss_raw"`
	R1V2T   float64 `json:"val_r1_v2t"`
	R5V2T   float64 `json:"val_r5_v2t"`
	R1T2V   float64 `json:"val_r1_t2v"`
	R5T2V   float64 `json:"val_r5_t2v"`
	Pool    int     `json:"val_pool"`
	N       int     `json:"val_n"`
}

func valRow(v *Validation) *ValRow {
	r := v.Retrieval
	return &ValRow{Loss: v.Loss, LossRaw: v.RawLoss, R1V2T: r.VideoToText[0], R5V2T: r.VideoToText[1],
		R1T2V: r.TextToVideo[0], R5T2V: r.TextToVideo[1], Pool: r.Pool, N: r.N}
}

var csvHeader = []string{"step", "epoch", "lr", "loss", "loss_raw", "loss_avg", "grad_norm", "samples_per_s", "data_wait_s",
	"val_loss", "val_loss_raw", "val_r1_v2t", "val_r5_v2t", "val_r1_t2v", "val_r5_t2v", "val_pool", "val_n"}

func g(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// CSV renders the row as a metrics.csv line (empty validation cells when
// no validation ran: pandas reads them as NaN).
func (r Row) CSV() string {
	f := []string{strconv.Itoa(r.Step), strconv.Itoa(r.Epoch), g(r.LR), g(r.Loss), g(r.LossRaw), g(r.LossAvg), g(r.GradNorm),
		g(r.SamplesPerSec), g(r.DataWait)}
	if r.Val != nil {
		v := r.Val
		f = append(f, g(v.Loss), g(v.LossRaw), g(v.R1V2T), g(v.R5V2T), g(v.R1T2V), g(v.R5T2V), strconv.Itoa(v.Pool), strconv.Itoa(v.N))
	} else {
		f = append(f, "", "", "", "", "", "", "", "")
	}
	return strings.Join(f, ",")
}

// metricsLog appends rows to metrics.csv and metrics.jsonl.
type metricsLog struct {
	csv, jsonl *os.File
	rows       []Row
}

// openMetrics creates the files, or on resume keeps the rows up to step
// (those the checkpoint had seen) and appends after them.
func openMetrics(csvPath, jsonlPath string, resume bool, upTo int) (*metricsLog, error) {
	m := &metricsLog{}
	if resume {
		rows, err := ReadMetrics(jsonlPath)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, r := range rows {
			if r.Step <= upTo {
				m.rows = append(m.rows, r)
			}
		}
	}
	var err error
	if m.csv, err = os.Create(csvPath); err != nil {
		return nil, fmt.Errorf("pretrain: metrics: %w", err)
	}
	if m.jsonl, err = os.Create(jsonlPath); err != nil {
		m.csv.Close()
		return nil, fmt.Errorf("pretrain: metrics: %w", err)
	}
	if _, err := fmt.Fprintln(m.csv, strings.Join(csvHeader, ",")); err != nil {
		return nil, err
	}
	old := m.rows
	m.rows = nil
	for _, r := range old {
		if err := m.add(r); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metricsLog) add(r Row) error {
	m.rows = append(m.rows, r)
	if _, err := fmt.Fprintln(m.csv, r.CSV()); err != nil {
		return fmt.Errorf("pretrain: metrics: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(m.jsonl, "%s\n", b); err != nil {
		return fmt.Errorf("pretrain: metrics: %w", err)
	}
	return nil
}

func (m *metricsLog) Close() error {
	e1 := m.csv.Close()
	e2 := m.jsonl.Close()
	if e1 != nil {
		return e1
	}
	return e2
}

// ReadMetrics reads a metrics.jsonl file.
func ReadMetrics(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	var rows []Row
	for {
		var r Row
		if err := dec.Decode(&r); err == io.EOF {
			return rows, nil
		} else if err != nil {
			return nil, fmt.Errorf("pretrain: %s: %w", path, err)
		}
		rows = append(rows, r)
	}
}
