package serve

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cmrfm/cmrfm/serve/db"
	"github.com/cmrfm/cmrfm/store"
)

// TaskSpec describes a task to create from a hidden labels table.
type TaskSpec struct {
	Slug, Title string
	Kind        string   // db.Regression or db.Classification
	Targets     []string // label columns of the index
	// Split selects the rows of the index that form the test set ("" means
	// "test"; "*" every row).
	Split string
	// PublicFraction of the test studies score the public leaderboard (0
	// means 0.5); the rest the private one. The assignment is a seeded
	// shuffle of the study keys.
	PublicFraction float64
	Seed           int64
	Cutoff         float64 // regression: heart failure is label < Cutoff (0 means 40)
	DailyLimit     int     // per team per UTC day (0 means 5)
	PlotMinBin     int     // studies per plotted point (0 means 10)
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ReadTaskStudies reads a hidden labels table in index.csv form
// (parent_folder, accession, split and label columns; the study key is
// parent_folder-accession, as `cmrfm predict` writes it) and returns the
// test studies with their labels. Every test study must have a label for
// every target: 0/1 for classification, a finite number for regression.
func ReadTaskStudies(r io.Reader, name string, spec *TaskSpec) ([]db.Study, error) {
	idx, err := store.ReadIndex(r)
	if err != nil {
		return nil, fmt.Errorf("serve: %s: %w", name, err)
	}
	for _, t := range spec.Targets {
		found := false
		for _, c := range idx.Columns {
			found = found || c == t
		}
		if !found {
			return nil, fmt.Errorf("serve: %s: no label column %q (columns: %s)", name, t, strings.Join(idx.Columns, ", "))
		}
	}
	split := spec.Split
	if split == "" {
		split = "test"
	}
	var out []db.Study
	for i, row := range idx.Rows {
		if split != "*" && row.Split != split {
			continue
		}
		st := db.Study{Key: row.Filename()}
		for _, t := range spec.Targets {
			v, ok := row.Float(t)
			line := i + 2
			if !ok || math.IsInf(v, 0) {
				return nil, fmt.Errorf("serve: %s: line %d, column %q: %q is not a number (every test study needs every label)", name, line, t, row.Values[t])
			}
			if spec.Kind == db.Classification && v != 0 && v != 1 {
				return nil, fmt.Errorf("serve: %s: line %d, column %q: %q is not a 0/1 label", name, line, t, row.Values[t])
			}
			st.Labels = append(st.Labels, v)
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("serve: %s: no studies in split %q", name, split)
	}
	return out, nil
}

// AssignParts marks a seeded share of the studies public: the keys are
// sorted, shuffled with the seed, and the first round(fraction·n) (at
// least one) are public. It depends on the set of keys and the seed only.
func AssignParts(studies []db.Study, fraction float64, seed int64) {
	keys := make([]string, len(studies))
	for i, s := range studies {
		keys[i] = s.Key
	}
	sort.Strings(keys)
	h := fnv.New64a()
	io.WriteString(h, strings.Join(keys, "\x00"))
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	n := max(1, int(math.Round(fraction*float64(len(keys)))))
	public := map[string]bool{}
	for _, k := range keys[:min(n, len(keys))] {
		public[k] = true
	}
	for i := range studies {
		studies[i].Public = public[studies[i].Key]
	}
}

// CreateTask validates a spec, splits the studies and stores the task.
func CreateTask(ctx context.Context, d *db.DB, spec TaskSpec, studies []db.Study) (*db.Task, error) {
	if !slugRE.MatchString(spec.Slug) {
		return nil, fmt.Errorf("serve: task name %q: use lower-case letters, digits and '-' (it is part of the URL)", spec.Slug)
	}
	switch spec.Kind {
	case db.Regression:
		if len(spec.Targets) != 1 {
			return nil, fmt.Errorf("serve: a regression task has one target, not %d", len(spec.Targets))
		}
	case db.Classification:
		if len(spec.Targets) == 0 {
			return nil, errors.New("serve: a classification task needs at least one target")
		}
	default:
		return nil, fmt.Errorf("serve: task type %q: want regression or classification", spec.Kind)
	}
	seen := map[string]bool{}
	for _, t := range spec.Targets {
		if t == "" || seen[t] {
			return nil, fmt.Errorf("serve: target %q is empty or repeated", t)
		}
		seen[t] = true
	}
	if spec.PublicFraction == 0 {
		spec.PublicFraction = 0.5
	}
	if !(spec.PublicFraction > 0 && spec.PublicFraction <= 1) {
		return nil, fmt.Errorf("serve: public fraction %v not in (0, 1]", spec.PublicFraction)
	}
	if spec.Cutoff == 0 {
		spec.Cutoff = 40
	}
	if spec.DailyLimit == 0 {
		spec.DailyLimit = 5
	}
	if spec.PlotMinBin == 0 {
		spec.PlotMinBin = 10
	}
	if spec.DailyLimit < 0 || spec.PlotMinBin < 1 {
		return nil, fmt.Errorf("serve: daily limit %d and plot bin %d must be positive", spec.DailyLimit, spec.PlotMinBin)
	}
	if spec.Title == "" {
		spec.Title = spec.Slug
	}
	AssignParts(studies, spec.PublicFraction, spec.Seed)
	t := &db.Task{Slug: spec.Slug, Title: spec.Title, Kind: spec.Kind, Targets: spec.Targets, Cutoff: spec.Cutoff,
		DailyLimit: spec.DailyLimit, PlotMinBin: spec.PlotMinBin, PublicFraction: spec.PublicFraction, Seed: spec.Seed}
	if err := d.CreateTask(ctx, t, studies); err != nil {
		return nil, err
	}
	return t, nil
}

// CreateTeam adds a team. Names are 1–64 printable characters; they are
// escaped wherever they are shown.
func CreateTeam(ctx context.Context, d *db.DB, name string) (*db.Team, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 64 || strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return nil, fmt.Errorf("serve: team name %q: want 1 to 64 printable characters", name)
	}
	return d.CreateTeam(ctx, name)
}

// IssueToken makes a new token for a team (by name or numeric id) and
// returns it: the only time the secret is ever shown.
func IssueToken(ctx context.Context, d *db.DB, team string) (string, *db.Token, error) {
	t, err := d.Team(ctx, team)
	if errors.Is(err, db.ErrNotFound) {
		if id, perr := strconv.ParseInt(team, 10, 64); perr == nil {
			t, err = d.TeamByID(ctx, id)
		}
	}
	if err != nil {
		return "", nil, err
	}
	tok, pid, hash := NewToken()
	row, err := d.AddToken(ctx, t.ID, pid, hash)
	if err != nil {
		return "", nil, err
	}
	return tok, row, nil
}

// RevokeToken revokes a token given whole or by its public id (the part
// after cmrfm_ and before the next '_').
func RevokeToken(ctx context.Context, d *db.DB, token string) error {
	pid := token
	if p, _, ok := splitToken(token); ok {
		pid = p
	}
	return d.RevokeToken(ctx, pid)
}
