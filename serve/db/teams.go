package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

func nan() float64 { return math.NaN() }

// Team is a group that submits predictions.
type Team struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// CreateTeam adds a team; a name already taken is ErrExists.
func (d *DB) CreateTeam(ctx context.Context, name string) (*Team, error) {
	t := &Team{Name: name, CreatedAt: d.now().UTC()}
	id, err := d.insert(ctx, d.sql, "INSERT INTO teams (name, created_at) VALUES (?, ?)", name, micros(t.CreatedAt))
	if isUnique(err) {
		return nil, fmt.Errorf("db: team %q: %w", name, ErrExists)
	}
	if err != nil {
		return nil, fmt.Errorf("db: create team %q: %w", name, err)
	}
	t.ID = id
	return t, nil
}

func (d *DB) team(ctx context.Context, where string, arg any) (*Team, error) {
	var t Team
	var created int64
	err := d.row(ctx, d.sql, "SELECT id, name, created_at FROM teams WHERE "+where, arg).Scan(&t.ID, &t.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: team %v: %w", arg, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("db: team %v: %w", arg, err)
	}
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

// Team returns the team with this name.
func (d *DB) Team(ctx context.Context, name string) (*Team, error) {
	return d.team(ctx, "name = ?", name)
}

// TeamByID returns the team with this id.
func (d *DB) TeamByID(ctx context.Context, id int64) (*Team, error) { return d.team(ctx, "id = ?", id) }

// Teams lists every team by name.
func (d *DB) Teams(ctx context.Context) ([]*Team, error) {
	rows, err := d.query(ctx, d.sql, "SELECT id, name, created_at FROM teams ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("db: teams: %w", err)
	}
	defer rows.Close()
	var out []*Team
	for rows.Next() {
		var t Team
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &created); err != nil {
			return nil, err
		}
		t.CreatedAt = fromMicros(created)
		out = append(out, &t)
	}
	return out, rows.Err()
}

// Token is an API token of a team. Only its hash is stored; PublicID is the
// non-secret part that finds the row.
type Token struct {
	ID        int64
	PublicID  string
	TeamID    int64
	Hash      string
	CreatedAt time.Time
	RevokedAt time.Time // zero while valid
}

// Revoked reports whether the token was revoked.
func (t *Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// AddToken stores a token hash for a team.
func (d *DB) AddToken(ctx context.Context, teamID int64, publicID, hash string) (*Token, error) {
	t := &Token{PublicID: publicID, TeamID: teamID, Hash: hash, CreatedAt: d.now().UTC()}
	id, err := d.insert(ctx, d.sql, "INSERT INTO tokens (public_id, team_id, hash, created_at) VALUES (?, ?, ?, ?)",
		publicID, teamID, hash, micros(t.CreatedAt))
	if err != nil {
		return nil, fmt.Errorf("db: add token: %w", err)
	}
	t.ID = id
	return t, nil
}

const tokenCols = "id, public_id, team_id, hash, created_at, revoked_at"

func scanToken(r interface{ Scan(...any) error }) (*Token, error) {
	var t Token
	var created int64
	var revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.PublicID, &t.TeamID, &t.Hash, &created, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt, t.RevokedAt = fromMicros(created), nullMicros(revoked)
	return &t, nil
}

// TokenByPublicID finds a token (revoked ones included).
func (d *DB) TokenByPublicID(ctx context.Context, publicID string) (*Token, error) {
	t, err := scanToken(d.row(ctx, d.sql, "SELECT "+tokenCols+" FROM tokens WHERE public_id = ?", publicID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("db: token: %w", err)
	}
	return t, nil
}

// Tokens lists a team's tokens.
func (d *DB) Tokens(ctx context.Context, teamID int64) ([]*Token, error) {
	rows, err := d.query(ctx, d.sql, "SELECT "+tokenCols+" FROM tokens WHERE team_id = ? ORDER BY id", teamID)
	if err != nil {
		return nil, fmt.Errorf("db: tokens: %w", err)
	}
	defer rows.Close()
	var out []*Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token and ends its sessions.
func (d *DB) RevokeToken(ctx context.Context, publicID string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := d.row(ctx, tx, "SELECT id FROM tokens WHERE public_id = ?", publicID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("db: token %q: %w", publicID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("db: revoke token: %w", err)
		}
		if _, err := d.exec(ctx, tx, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", micros(d.now()), id); err != nil {
			return fmt.Errorf("db: revoke token: %w", err)
		}
		if _, err := d.exec(ctx, tx, "DELETE FROM sessions WHERE token_id = ?", id); err != nil {
			return fmt.Errorf("db: revoke token: %w", err)
		}
		return nil
	})
}

// Session is a signed-in browser: the team and the token it signed in with.
type Session struct {
	TeamID, TokenID int64
	ExpiresAt       time.Time
}

// CreateSession stores a session under the hash of its cookie value.
func (d *DB) CreateSession(ctx context.Context, idHash string, s Session) error {
	_, err := d.exec(ctx, d.sql, "INSERT INTO sessions (id_hash, team_id, token_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		idHash, s.TeamID, s.TokenID, micros(d.now()), micros(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("db: create session: %w", err)
	}
	return nil
}

// Session returns a live session: not expired, its token not revoked.
func (d *DB) Session(ctx context.Context, idHash string) (*Session, error) {
	var s Session
	var exp int64
	err := d.row(ctx, d.sql, `SELECT s.team_id, s.token_id, s.expires_at FROM sessions s JOIN tokens t ON t.id = s.token_id
		WHERE s.id_hash = ? AND s.expires_at > ? AND t.revoked_at IS NULL`, idHash, micros(d.now())).Scan(&s.TeamID, &s.TokenID, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: session: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("db: session: %w", err)
	}
	s.ExpiresAt = fromMicros(exp)
	return &s, nil
}

// DeleteSession signs a browser out; expired sessions go too.
func (d *DB) DeleteSession(ctx context.Context, idHash string) error {
	_, err := d.exec(ctx, d.sql, "DELETE FROM sessions WHERE id_hash = ? OR expires_at <= ?", idHash, micros(d.now()))
	if err != nil {
		return fmt.Errorf("db: delete session: %w", err)
	}
	return nil
}

// Setting returns a server-wide setting, storing gen() first if it is
// unset; concurrent first callers all get the one stored value.
func (d *DB) Setting(ctx context.Context, key string, gen func() string) (string, error) {
	if _, err := d.exec(ctx, d.sql, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, gen()); err != nil {
		return "", fmt.Errorf("db: setting %s: %w", key, err)
	}
	var v string
	if err := d.row(ctx, d.sql, "SELECT value FROM settings WHERE key = ?", key).Scan(&v); err != nil {
		return "", fmt.Errorf("db: setting %s: %w", key, err)
	}
	return v, nil
}
