package data

import (
	"context"
	"io"
	"sync"
	"time"
)

// PrefetchOptions sizes a Prefetch stream.
type PrefetchOptions struct {
	// Workers is the number of loading goroutines (0 means 1).
	Workers int
	// Depth bounds how many items may be loaded ahead of the consumer,
	// in flight or waiting (0 means 2·Workers).
	Depth int
	// Start is the first position to load (resuming mid-epoch).
	Start int
}

// PrefetchStats says how the stream kept up.
type PrefetchStats struct {
	// Items is the number of items delivered so far.
	Items int
	// Wait is the total time Next blocked: time the consumer (the model)
	// waited for data. Near zero means loading keeps up.
	Wait time.Duration
	// Load is the total time workers spent in the load function (summed
	// over workers; Load/Items is the mean per-item cost).
	Load time.Duration
}

type result[T any] struct {
	v   T
	err error
	dur time.Duration
}

type job[T any] struct {
	pos int
	ch  chan result[T]
}

// Stream delivers the items of positions Start … n−1 in order, loaded by
// worker goroutines ahead of the consumer. The order, and with
// per-item seeded randomness the values, do not depend on the number of
// workers.
type Stream[T any] struct {
	order  chan job[T]
	sem    chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	pos    int

	mu    sync.Mutex
	stats PrefetchStats
}

// Prefetch starts loading positions o.Start … n−1 with load and returns
// the stream. The caller must call Close (also after an early stop).
// load receives a context that is cancelled on Close.
func Prefetch[T any](ctx context.Context, n int, load func(ctx context.Context, pos int) (T, error), o PrefetchOptions) *Stream[T] {
	workers := max(1, o.Workers)
	depth := o.Depth
	if depth <= 0 {
		depth = 2 * workers
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream[T]{order: make(chan job[T], depth), sem: make(chan struct{}, depth), cancel: cancel, pos: o.Start}
	jobs := make(chan job[T])
	s.wg.Add(1)
	go func() { // dispatcher: positions in order, at most depth ahead
		defer s.wg.Done()
		defer close(s.order)
		defer close(jobs)
		for p := o.Start; p < n; p++ {
			select {
			case s.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			j := job[T]{pos: p, ch: make(chan result[T], 1)}
			s.order <- j // cannot block: order has depth slots and sem bounds the backlog
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for j := range jobs {
				t0 := time.Now()
				v, err := load(ctx, j.pos)
				j.ch <- result[T]{v: v, err: err, dur: time.Since(t0)}
			}
		}()
	}
	return s
}

// Next returns the next item and its position. It returns io.EOF after the
// last position; a load error is returned with its position and the
// stream goes on with the next one.
func (s *Stream[T]) Next() (v T, pos int, err error) {
	t0 := time.Now()
	j, ok := <-s.order
	if !ok {
		return v, s.pos, io.EOF
	}
	r := <-j.ch
	<-s.sem
	s.mu.Lock()
	s.stats.Items++
	s.stats.Wait += time.Since(t0)
	s.stats.Load += r.dur
	s.mu.Unlock()
	s.pos = j.pos + 1
	return r.v, j.pos, r.err
}

// Stats returns the counters so far.
func (s *Stream[T]) Stats() PrefetchStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Close stops the workers and waits for them.
func (s *Stream[T]) Close() {
	s.cancel()
	s.wg.Wait() // the dispatcher stops on cancel; workers finish their item
	for range s.order {
	}
}
