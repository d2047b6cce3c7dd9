package label

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// cacheEntry is one line of the answer cache (JSON lines). Only validated
// answers are cached; a failed request is asked again on the next run.
type cacheEntry struct {
	Key           string `json:"key"`
	Model         string `json:"model"`
	PromptVersion string `json:"prompt_version"`
	PromptSHA     string `json:"prompt_sha256"`
	ReportSHA     string `json:"report_sha256"`
	Answer        Answer `json:"answer"`
	Evidence      string `json:"evidence"`
	Usage         Usage  `json:"usage"`
}

func cacheKey(model, promptVersion, promptSHA, reportSHA string) string {
	h := sha256.New()
	for _, s := range []string{model, promptVersion, promptSHA, reportSHA} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Cache is an append-only answer cache: one JSON line per answer, synced
// to disk as it is written, so a run killed at any moment keeps every
// answer it was charged for. A torn last line (the kill landed mid-write)
// is ignored on reading.
type Cache struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	entries map[string]cacheEntry
}

// OpenCache opens (or creates) the cache file at path.
func OpenCache(path string) (*Cache, error) {
	c := &Cache{path: path, entries: map[string]cacheEntry{}}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("label: cache: %w", err)
	}
	torn := false
	br := bufio.NewReader(bytes.NewReader(b))
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var e cacheEntry
			if jerr := json.Unmarshal(line, &e); jerr != nil || e.Key == "" || line[len(line)-1] != '\n' {
				torn = true
			} else {
				c.entries[e.Key] = e
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	c.f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("label: cache: %w", err)
	}
	if torn && len(b) > 0 && b[len(b)-1] != '\n' {
		// Start the next answer on a line of its own.
		if _, err := c.f.Write([]byte{'\n'}); err != nil {
			c.f.Close()
			return nil, fmt.Errorf("label: cache: %w", err)
		}
	}
	return c, nil
}

// Len returns the number of cached answers.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache) get(key string) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e, ok
}

func (c *Cache) put(e cacheEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.f.Write(b); err != nil {
		return fmt.Errorf("label: cache %s: %w", c.path, err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("label: cache %s: %w", c.path, err)
	}
	c.entries[e.Key] = e
	return nil
}

// Close closes the cache file.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.f.Close()
}
