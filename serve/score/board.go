package score

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cmrfm/cmrfm/stats"
)

// TieLevel is the significance level below which an entry's difference
// from the leader counts as real; at or above it the two read as tied.
const TieLevel = 0.05

// Entry is one scored submission offered to the leaderboard.
type Entry struct {
	SubmissionID, TeamID int64
	Team                 string
	CreatedAt            time.Time
	Public, Private      Num
	Preds                Preds
}

// Board is a task's leaderboard: one row per team, ranked on each part.
// The private ranking exists from the first submission on but is shown
// only once the task is closed.
type Board struct {
	Kind    string `json:"kind"`
	Public  []Row  `json:"public"`
	Private []Row  `json:"private,omitempty"`
}

// Row is one team on one part of the board: its selected submission (the
// best on the public part; the earliest of equals), the part's score, and
// DeLong's paired test against the part's leader (P: the smallest p over
// the targets; for regression the heart-failure AUROC's).
type Row struct {
	Rank         int       `json:"rank"`
	Team         string    `json:"team"`
	TeamID       int64     `json:"team_id"`
	SubmissionID int64     `json:"submission_id"`
	Submitted    time.Time `json:"submitted"`
	Score        Num       `json:"score"`
	Entries      int       `json:"entries"` // the team's scored submissions
	P            Num       `json:"p_vs_leader"`
	PerTarget    []Num     `json:"p_per_target,omitempty"`
	// Tied: no target's difference from the leader is significant at
	// TieLevel (the leader itself is not marked).
	Tied bool `json:"tied_with_leader"`
}

// Rank builds the board from every scored submission of a task. Entries
// need only their scores; load fetches the predictions of the submissions
// the board selects (one per team) when Entry.Preds is nil.
func Rank(t *Task, entries []Entry, load func(id int64) (Preds, error)) (*Board, error) {
	b := &Board{Kind: t.Kind, Public: []Row{}}
	best := map[int64]*Entry{}
	count := map[int64]int{}
	for i := range entries {
		e := &entries[i]
		count[e.TeamID]++
		cur, ok := best[e.TeamID]
		if !ok || Better(t.Kind, float64(e.Public), float64(cur.Public)) ||
			(float64(e.Public) == float64(cur.Public) || !e.Public.Valid() && !cur.Public.Valid()) && e.CreatedAt.Before(cur.CreatedAt) {
			best[e.TeamID] = e
		}
	}
	var sel []*Entry
	for _, e := range best {
		if e.Preds == nil && load != nil {
			p, err := load(e.SubmissionID)
			if err != nil {
				return nil, fmt.Errorf("score: predictions of submission %d: %w", e.SubmissionID, err)
			}
			e.Preds = p
		}
		sel = append(sel, e)
	}
	b.Public = rankPart(t, sel, Public, count)
	if len(t.split(Private)) > 0 {
		b.Private = rankPart(t, sel, Private, count)
	}
	return b, nil
}

func rankPart(t *Task, sel []*Entry, part string, count map[int64]int) []Row {
	score := func(e *Entry) float64 {
		if part == Public {
			return float64(e.Public)
		}
		return float64(e.Private)
	}
	sort.SliceStable(sel, func(i, j int) bool {
		a, b := score(sel[i]), score(sel[j])
		if Better(t.Kind, a, b) {
			return true
		}
		if Better(t.Kind, b, a) {
			return false
		}
		if !sel[i].CreatedAt.Equal(sel[j].CreatedAt) {
			return sel[i].CreatedAt.Before(sel[j].CreatedAt)
		}
		return sel[i].SubmissionID < sel[j].SubmissionID
	})
	idx := t.split(part)
	rows := make([]Row, len(sel))
	var leader []*stats.ROC
	for i, e := range sel {
		r := Row{Team: e.Team, TeamID: e.TeamID, SubmissionID: e.SubmissionID, Submitted: e.CreatedAt,
			Score: Num(score(e)), Entries: count[e.TeamID], P: Num(math.NaN()), Rank: i + 1}
		if i > 0 && score(e) == score(sel[i-1]) {
			r.Rank = rows[i-1].Rank // equal scores share a rank
		}
		rocs := t.rocs(e.Preds, idx)
		if i == 0 {
			leader = rocs
		} else {
			r.PerTarget = make([]Num, len(rocs))
			minP, defined, tied := math.Inf(1), false, true
			for j := range rocs {
				r.PerTarget[j] = Num(math.NaN())
				if leader[j] == nil || rocs[j] == nil {
					continue
				}
				test, err := stats.Compare(leader[j], rocs[j], stats.Paired, level)
				if err != nil || math.IsNaN(test.P) {
					continue
				}
				r.PerTarget[j] = Num(test.P)
				defined = true
				minP = math.Min(minP, test.P)
				tied = tied && test.P >= TieLevel
			}
			if defined {
				r.P, r.Tied = Num(minP), tied
			}
		}
		rows[i] = r
	}
	return rows
}

// rocs returns one ROC per target on the studies idx (the heart-failure
// ROC for regression); nil where it is undefined (one class).
func (t *Task) rocs(p Preds, idx []int) []*stats.ROC {
	out := make([]*stats.ROC, len(t.Targets))
	if len(p) != len(t.Targets) {
		return out
	}
	for j := range t.Targets {
		var r *stats.ROC
		var err error
		if t.Kind == Regression {
			r, err = stats.NewROC(pick(p[j], idx), stats.BelowCutoff(t.labels(j, idx), t.Cutoff), hfDirection)
		} else {
			r, err = stats.NewROC(pick(p[j], idx), toBool(t.labels(j, idx)), classDirection)
		}
		if err != nil && !errors.Is(err, stats.ErrOneClass) {
			continue
		}
		if err == nil {
			out[j] = r
		}
	}
	return out
}
