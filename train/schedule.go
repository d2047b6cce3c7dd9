package train

import (
	"fmt"
	"math"
	"slices"
)

// Interval is what a Schedule counts.
type Interval string

const (
	// PerEpoch counts completed epochs (Lightning's default interval).
	PerEpoch Interval = "epoch"
	// PerUpdate counts optimiser updates (Lightning's interval "step").
	PerUpdate Interval = "update"
)

// Schedule is a step-decay learning-rate schedule. With StepSize > 0 it
// is torch's StepLR as the scheduler's step() computes it (the chainable
// form): after each completed interval k (k = 1, 2, …) the rate is
// multiplied by Gamma when k mod StepSize = 0 (Python's float modulo, so a
// fractional StepSize such as the authors' 0.5 decays at every interval).
// With Milestones it is MultiStepLR: ×Gamma at each listed count. The
// zero value keeps the rate constant.
type Schedule struct {
	// Gamma is the decay factor (StepLR's default 0.1 when 0).
	Gamma float64 `yaml:"gamma" json:"gamma"`
	// StepSize is StepLR's step_size in intervals (0: no StepLR).
	StepSize float64 `yaml:"step_size" json:"step_size"`
	// Milestones are MultiStepLR's interval counts (sorted ascending).
	Milestones []int `yaml:"milestones" json:"milestones"`
	// Interval is PerEpoch ("" means PerEpoch) or PerUpdate.
	Interval Interval `yaml:"interval" json:"interval"`
}

// Validate checks the schedule.
func (s Schedule) Validate() error {
	if s.StepSize < 0 || math.IsNaN(s.StepSize) || math.IsInf(s.StepSize, 0) {
		return fmt.Errorf("train: schedule step_size %g: want ≥ 0", s.StepSize)
	}
	if s.StepSize > 0 && len(s.Milestones) > 0 {
		return fmt.Errorf("train: schedule: set step_size or milestones, not both")
	}
	if s.Gamma < 0 || math.IsNaN(s.Gamma) {
		return fmt.Errorf("train: schedule gamma %g: want ≥ 0", s.Gamma)
	}
	if !slices.IsSorted(s.Milestones) {
		return fmt.Errorf("train: schedule milestones %v: want ascending", s.Milestones)
	}
	switch s.Interval {
	case "", PerEpoch, PerUpdate:
	default:
		return fmt.Errorf("train: schedule interval %q: want %s or %s", s.Interval, PerEpoch, PerUpdate)
	}
	return nil
}

func (s Schedule) gamma() float64 {
	if s.Gamma == 0 {
		return 0.1
	}
	return s.Gamma
}

// Factor returns the multiplier of the base rate after epochs completed
// epochs and updates applied updates.
func (s Schedule) Factor(epochs, updates int) float64 { return s.LR(1, epochs, updates) }

// LR returns the learning rate for the next update, multiplying base by
// Gamma once per decay in float64, in the order torch's chainable
// schedulers do.
func (s Schedule) LR(base float64, epochs, updates int) float64 {
	n := epochs
	if s.Interval == PerUpdate {
		n = updates
	}
	lr := base
	switch {
	case s.StepSize > 0:
		if s.StepSize == math.Trunc(s.StepSize) {
			for range n / int(s.StepSize) {
				lr *= s.gamma()
			}
			return lr
		}
		for k := 1; k <= n; k++ {
			if math.Mod(float64(k), s.StepSize) == 0 {
				lr *= s.gamma()
			}
		}
	case len(s.Milestones) > 0:
		for _, m := range s.Milestones {
			if n >= m {
				lr *= s.gamma()
			}
		}
	}
	return lr
}
