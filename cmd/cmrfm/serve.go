package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/serve"
	"github.com/cmrfm/cmrfm/serve/db"
)

const serveDBHelp = `--db is sqlite:PATH (the default, one file, nothing to install) or
postgres://USER[:PASSWORD]@HOST:PORT/NAME (a group's server; several cmrfm
servers may share it). The schema is created and migrated on start.`

func newServeCmd(a *app) *cobra.Command {
	var dsn, addr string
	var o serve.Options
	var maxUploadMiB int64
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Test-set leaderboard web app: teams submit predictions, hidden labels stay on the server",
		Long: `serve runs the leaderboard: teams sign in with a token and upload the
predictions table of 'cmrfm predict' (web form or curl); a scoring queue stored
in the database scores each submission with the paper's statistics; pages and
a JSON API show the public leaderboard (the private one once a task closes),
each submission's metrics and figures, and each team's history.

Administer it with 'cmrfm serve admin' (tasks, teams, tokens).

` + serveDBHelp + `

See docs/leaderboard.md.`,
		Example: `  cmrfm serve --db sqlite:leaderboard.db --addr :8080
  cmrfm serve --db postgres://cmrfm@db.example.org:5432/leaderboard --addr 127.0.0.1:8080 --secure`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Log = a.log
			o.MaxUpload = maxUploadMiB << 20
			return serve.Run(cmd.Context(), dsn, addr, o, func(url string) {
				fmt.Fprintf(a.stdout, "cmrfm leaderboard at %s (Ctrl-C stops it)\n", url)
			})
		},
	}
	cmd.PersistentFlags().StringVar(&dsn, "db", "sqlite:leaderboard.db", "database: sqlite:PATH or postgres://…")
	f := cmd.Flags()
	f.StringVar(&addr, "addr", ":8080", "listen address")
	f.Int64Var(&maxUploadMiB, "max-upload-mib", 16, "largest accepted upload, MiB")
	f.Float64Var(&o.IPRate, "ip-rate", 20, "requests per second per client address (negative: no limit)")
	f.IntVar(&o.IPBurst, "ip-burst", 100, "burst of requests per client address")
	f.Float64Var(&o.TokenRate, "token-rate", 5, "requests per second per team token (negative: no limit)")
	f.IntVar(&o.TokenBurst, "token-burst", 30, "burst of requests per team token")
	f.IntVar(&o.Workers, "scorers", 1, "scoring workers in this process")
	f.DurationVar(&o.Lease, "lease", 2*time.Minute, "how long a scorer holds a submission before another server may take it over")
	f.BoolVar(&o.Secure, "secure", false, "the server is reached over HTTPS: Secure cookies and HSTS")
	cmd.AddCommand(newServeAdminCmd(a, &dsn))
	return cmd
}

func newServeAdminCmd(a *app, dsn *string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Administer the leaderboard: tasks, teams, tokens",
		Long:  "admin changes the leaderboard's database directly (the server need not run).\n\n" + serveDBHelp,
	}
	open := func(cmd *cobra.Command) (*db.DB, error) { return db.Open(cmd.Context(), *dsn) }

	task := &cobra.Command{Use: "task", Short: "Create, list and close tasks"}
	var spec serve.TaskSpec
	var labels, targets string
	create := &cobra.Command{
		Use:   "create NAME --labels hidden.csv --type regression|classification --targets COLS",
		Short: "Create a task from a hidden labels table (index.csv form)",
		Long: `create reads a hidden labels table in the form of a store's index.csv
(parent_folder, accession, split, label columns), takes the rows of --split,
and stores their keys (parent_folder-accession, what 'cmrfm predict' writes in
filenames) and labels. A seeded --public-fraction of them scores the public
leaderboard; the rest decide the private ranking, revealed by 'task close'.`,
		Example: `  cmrfm serve admin task create lvef --labels index.csv --type regression --targets lvef --title "LVEF (test set)"
  cmrfm serve admin task create dx --labels index.csv --type classification --targets dcm,hcm --daily-limit 3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec.Slug = args[0]
			for _, t := range strings.Split(targets, ",") {
				if t = strings.TrimSpace(t); t != "" {
					spec.Targets = append(spec.Targets, t)
				}
			}
			f, err := os.Open(labels)
			if err != nil {
				return err
			}
			defer f.Close()
			studies, err := serve.ReadTaskStudies(f, labels, &spec)
			if err != nil {
				return err
			}
			d, err := open(cmd)
			if err != nil {
				return err
			}
			defer d.Close()
			t, err := serve.CreateTask(cmd.Context(), d, spec, studies)
			if err != nil {
				return err
			}
			pub := 0
			for _, s := range studies {
				if s.Public {
					pub++
				}
			}
			fmt.Fprintf(a.stdout, "created task %s (%s, targets %s): %d test studies, %d public, %d private; %d submissions per team per day\n",
				t.Slug, t.Kind, strings.Join(t.Targets, ","), len(studies), pub, len(studies)-pub, t.DailyLimit)
			return nil
		},
	}
	cf := create.Flags()
	cf.StringVar(&labels, "labels", "", "hidden labels table in index.csv form (required)")
	cf.StringVar(&spec.Kind, "type", "", "regression (one target, e.g. lvef) or classification (0/1 targets) (required)")
	cf.StringVar(&targets, "targets", "", "label column(s), comma-separated (required)")
	cf.StringVar(&spec.Title, "title", "", "title shown on the pages (default: the name)")
	cf.StringVar(&spec.Split, "split", "test", `rows of this split form the test set ("*": every row)`)
	cf.Float64Var(&spec.PublicFraction, "public-fraction", 0.5, "share of the test studies on the public leaderboard")
	cf.Int64Var(&spec.Seed, "seed", 1, "seed of the public/private assignment")
	cf.Float64Var(&spec.Cutoff, "cutoff", 40, "regression: heart-failure AUROC outcome is label below this")
	cf.IntVar(&spec.DailyLimit, "daily-limit", 5, "submissions per team per day (UTC)")
	cf.IntVar(&spec.PlotMinBin, "plot-min-bin", 10, "every plotted ROC step / Bland–Altman point aggregates at least this many studies")
	for _, r := range []string{"labels", "type", "targets"} {
		_ = create.MarkFlagRequired(r)
	}
	list := &cobra.Command{
		Use: "list", Short: "List tasks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := open(cmd)
			if err != nil {
				return err
			}
			defer d.Close()
			ts, err := d.Tasks(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tTARGETS\tSTATE\tDAILY LIMIT\tTITLE")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", t.Slug, t.Kind, strings.Join(t.Targets, ","), t.State, t.DailyLimit, t.Title)
			}
			return tw.Flush()
		},
	}
	closeCmd := &cobra.Command{
		Use: "close NAME", Short: "Close a task: no more submissions; the private ranking is revealed", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := open(cmd)
			if err != nil {
				return err
			}
			defer d.Close()
			if err := d.CloseTask(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "closed task %s: the private leaderboard is now shown\n", args[0])
			return nil
		},
	}
	task.AddCommand(create, list, closeCmd)

	team := &cobra.Command{Use: "team", Short: "Create and list teams"}
	team.AddCommand(&cobra.Command{
		Use: "create NAME", Short: "Create a team", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := open(cmd)
			if err != nil {
				return err
			}
			defer d.Close()
			t, err := serve.CreateTeam(cmd.Context(), d, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "created team %q (id %d); give it a token: cmrfm serve admin token issue %q\n", t.Name, t.ID, t.Name)
			return nil
		},
	}, &cobra.Command{
		Use: "list", Short: "List teams and their tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := open(cmd)
			if err != nil {
				return err
			}
			defer d.Close()
			ts, err := d.Teams(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTEAM\tTOKEN ID\tISSUED\tREVOKED")
			for _, t := range ts {
				toks, err := d.Tokens(cmd.Context(), t.ID)
				if err != nil {
					return err
				}
				if len(toks) == 0 {
					fmt.Fprintf(tw, "%d\t%s\t-\t-\t-\n", t.ID, t.Name)
				}
				for _, k := range toks {
					rev := "-"
					if k.Revoked() {
						rev = k.RevokedAt.Format(time.DateTime)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, k.PublicID, k.CreatedAt.Format(time.DateTime), rev)
				}
			}
			return tw.Flush()
		},
	})

	token := &cobra.Command{Use: "token", Short: "Issue and revoke team tokens"}
	token.AddCommand(&cobra.Command{
		Use: "issue TEAM", Short: "Issue a token for a team (printed once; only its hash is stored)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := open(cmd)
			if err != nil {
				return err
			}
			defer d.Close()
			tok, _, err := serve.IssueToken(cmd.Context(), d, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, tok)
			return nil
		},
	}, &cobra.Command{
		Use: "revoke TOKEN|TOKEN-ID", Short: "Revoke a token (its browser sessions end too)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := open(cmd)
			if err != nil {
				return err
			}
			defer d.Close()
			if err := serve.RevokeToken(cmd.Context(), d, args[0]); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "revoked")
			return nil
		},
	})
	cmd.AddCommand(task, team, token)
	return cmd
}
