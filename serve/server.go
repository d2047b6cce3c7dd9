package serve

import (
	"context"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cmrfm/cmrfm/serve/db"
	"github.com/cmrfm/cmrfm/serve/score"
)

// Options configures a Server. The zero value (with DB set) is a sensible
// single-machine server.
type Options struct {
	DB *db.DB
	// MaxUpload caps an uploaded file (0 means 16 MiB); a request body
	// larger than MaxUpload + 64 KiB is refused before it is read.
	MaxUpload int64
	// IPRate and IPBurst limit requests per client address (0 means 20 per
	// second, bursts of 100; negative: no limit).
	IPRate  float64
	IPBurst int
	// TokenRate and TokenBurst limit requests per signed-in team token
	// (0 means 5 per second, bursts of 30; negative: no limit).
	TokenRate  float64
	TokenBurst int
	// Workers is the number of scoring goroutines (0 means 1).
	Workers int
	// Lease is how long a worker may hold a submission before another
	// server takes it over (0 means 2 minutes).
	Lease time.Duration
	// MaxAttempts bounds how often a submission is retried after its
	// scorer died (0 means 3).
	MaxAttempts int
	// Poll is how often an idle worker looks for work queued by other
	// processes (0 means 1 s).
	Poll time.Duration
	// SessionTTL is how long a browser stays signed in (0 means 12 h).
	SessionTTL time.Duration
	// Secure marks cookies Secure and sends HSTS: set it when the server is
	// reached over HTTPS (behind a TLS proxy).
	Secure bool
	// Log receives structured logs (nil: discarded).
	Log *slog.Logger
	// OnScored, if set, is called after each submission is scored (tests).
	OnScored func(id int64)
}

// Server is the leaderboard web app and its scoring workers.
type Server struct {
	opt        Options
	db         *db.DB
	log        *slog.Logger
	tokens     *tokenVerifier
	csrfKey    []byte
	ipLimit    *limiter
	tokenLimit *limiter
	pages      map[string]*template.Template
	static     fs.FS
	owner      string // this process's lease owner id
	wake       chan struct{}

	mu        sync.Mutex
	taskCache map[int64]*score.Task // hidden studies, for scoring only
	keyCache  map[int64]taskKeys
}

type taskKeys struct {
	keys   []string
	public int
}

//go:embed templates/*.html static/*
var assets embed.FS

// New prepares a server over an open database.
func New(ctx context.Context, opt Options) (*Server, error) {
	if opt.DB == nil {
		return nil, errors.New("serve: no database")
	}
	if opt.MaxUpload == 0 {
		opt.MaxUpload = 16 << 20
	}
	if opt.IPRate == 0 {
		opt.IPRate, opt.IPBurst = 20, 100
	}
	if opt.TokenRate == 0 {
		opt.TokenRate, opt.TokenBurst = 5, 30
	}
	if opt.Workers == 0 {
		opt.Workers = 1
	}
	if opt.Lease == 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.MaxAttempts == 0 {
		opt.MaxAttempts = 3
	}
	if opt.Poll == 0 {
		opt.Poll = time.Second
	}
	if opt.SessionTTL == 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	key, err := opt.DB.Setting(ctx, "csrf_key", func() string { return randomID(32) })
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	csrfKey, err := hex.DecodeString(key)
	if err != nil {
		return nil, fmt.Errorf("serve: stored csrf_key: %w", err)
	}
	s := &Server{opt: opt, db: opt.DB, log: opt.Log, tokens: newTokenVerifier(opt.DB), csrfKey: csrfKey,
		ipLimit: newLimiter(opt.IPRate, opt.IPBurst), tokenLimit: newLimiter(opt.TokenRate, opt.TokenBurst),
		owner: randomID(8), wake: make(chan struct{}, 1), taskCache: map[int64]*score.Task{}, keyCache: map[int64]taskKeys{}}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.static, _ = fs.Sub(assets, "static")
	return s, nil
}

// Handler returns the web app: pages, API and static files, wrapped in the
// security middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.pageIndex)
	mux.HandleFunc("GET /tasks/{slug}", s.pageBoard)
	mux.HandleFunc("GET /tasks/{slug}/about", s.pageAbout)
	mux.HandleFunc("GET /tasks/{slug}/example.csv", s.exampleCSV)
	mux.HandleFunc("GET /tasks/{slug}/submit", s.pageSubmit)
	mux.HandleFunc("POST /tasks/{slug}/submit", s.postSubmit)
	mux.HandleFunc("GET /teams/{id}", s.pageTeam)
	mux.HandleFunc("GET /submissions/{id}", s.pageSubmission)
	mux.HandleFunc("GET /submissions/{id}/plots/{part}/{name}", s.plot)
	mux.HandleFunc("GET /signin", s.pageSignin)
	mux.HandleFunc("POST /signin", s.postSignin)
	mux.HandleFunc("POST /signout", s.postSignout)
	mux.HandleFunc("GET /api/tasks", s.apiTasks)
	mux.HandleFunc("GET /api/tasks/{slug}", s.apiTask)
	mux.HandleFunc("GET /api/tasks/{slug}/leaderboard", s.apiBoard)
	mux.HandleFunc("POST /api/tasks/{slug}/submissions", s.apiSubmit)
	mux.HandleFunc("GET /api/teams/{id}", s.apiTeam)
	mux.HandleFunc("GET /api/submissions/{id}", s.apiSubmission)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(s.static)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) })
	cop := http.NewCrossOriginProtection()
	return s.recoverPanics(s.securityHeaders(s.limitIP(cop.Handler(mux))))
}

// Serve answers HTTP on l and runs the scoring workers until ctx ends, then
// shuts down gracefully (in-flight requests finish; a submission being
// scored is left to its lease).
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 0; i < s.opt.Workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); s.RunWorker(wctx) }()
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	var err error
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	case err = <-errc:
	}
	stop()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Run opens the database named by dsn (migrating it), listens on addr and
// serves until ctx ends. ready, if set, is called with the server's URL
// once it accepts connections.
func Run(ctx context.Context, dsn, addr string, opt Options, ready func(url string)) error {
	d, err := db.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer d.Close()
	opt.DB = d
	s, err := New(ctx, opt)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	url := "http://" + l.Addr().String()
	if host, port, err := net.SplitHostPort(l.Addr().String()); err == nil && (host == "::" || host == "0.0.0.0") {
		url = "http://localhost:" + port
	}
	s.log.Info("serving", "url", url, "db", string(d.Engine()), "workers", s.opt.Workers)
	if ready != nil {
		ready(url)
	}
	return s.Serve(ctx, l)
}
