// Package budget holds the retry budget one request shares with the
// resumptions of the body it returned: the HTTP attempts made, counted
// against the most allowed. The pipeline spends it, one attempt at a
// time; objstore's resumable Reader resumes only while some is left, and
// reports how much was spent. So a Get, its resumptions included, makes
// at most MaxRetries+1 attempts, rather than MaxRetries+1 for each of
// them.
package budget

import (
	"context"
	"sync/atomic"
)

// Budget counts the HTTP attempts of one request against a limit. It is
// safe for concurrent use.
type Budget struct {
	max  int32
	used atomic.Int32
}

// New returns a budget of n attempts (at least 1).
func New(n int) *Budget { return &Budget{max: int32(max(n, 1))} }

// Take spends one attempt and returns its number, from 1; 0 means every
// attempt was spent already, and nothing is taken.
func (b *Budget) Take() int {
	for {
		u := b.used.Load()
		if u >= b.max {
			return 0
		}
		if b.used.CompareAndSwap(u, u+1) {
			return int(u + 1)
		}
	}
}

// Used is the number of attempts made.
func (b *Budget) Used() int { return int(b.used.Load()) }

// Left is the number of attempts left.
func (b *Budget) Left() int { return int(b.max - b.used.Load()) }

// Max is the number of attempts allowed.
func (b *Budget) Max() int { return int(b.max) }

type key struct{}

// With returns a context whose requests spend b, rather than a budget of
// their own each.
func With(ctx context.Context, b *Budget) context.Context {
	return context.WithValue(ctx, key{}, b)
}

// From returns the budget ctx carries, or nil.
func From(ctx context.Context) *Budget {
	b, _ := ctx.Value(key{}).(*Budget)
	return b
}

type resumesKey struct{}

// WithResumes returns a context under which a resumable read resumes at
// most n times (0: never): the retries of the store's configuration.
func WithResumes(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, resumesKey{}, n)
}

// Resumes returns what WithResumes put in ctx.
func Resumes(ctx context.Context) (n int, ok bool) {
	n, ok = ctx.Value(resumesKey{}).(int)
	return n, ok
}
