package file

import (
	"strings"
	"sync"
	"time"
)

// pageCache keeps, between the pages of a listing, the sorted entries of
// the directories on the path to where its next page starts, so that a
// listing reads each directory once rather than once per page (a flat
// directory of n files would otherwise cost n/PageSize reads of n
// entries). A listing finds its state by the ID its tokens carry. A state
// not claimed within pageCacheTTL, or pushed out by maxPageStates newer
// ones, is dropped; its listing then reads the directories again.
type pageCache struct {
	mu     sync.Mutex
	states map[string]*pageState
}

type pageState struct {
	dirs  map[string][]dirEntry
	kept  time.Time
	timer *time.Timer
}

// idLen is the length of a listing's ID, the start of its tokens.
const idLen = 16

const (
	maxPageStates = 8
	pageCacheTTL  = time.Minute
)

// keep stores the directories of listing id whose next page starts after
// the key last: those on its path, the only ones that page reads.
func (c *pageCache) keep(id, last string, dirs map[string][]dirEntry) {
	for p := range dirs {
		if !strings.HasPrefix(last, p) {
			delete(dirs, p)
		}
	}
	if len(dirs) == 0 {
		return
	}
	st := &pageState{dirs: dirs, kept: time.Now()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.states == nil {
		c.states = map[string]*pageState{}
	}
	if len(c.states) >= maxPageStates {
		oldest := ""
		for id, s := range c.states {
			if oldest == "" || s.kept.Before(c.states[oldest].kept) {
				oldest = id
			}
		}
		c.states[oldest].timer.Stop()
		delete(c.states, oldest)
	}
	st.timer = time.AfterFunc(pageCacheTTL, func() { c.drop(id, st) })
	c.states[id] = st
}

// take returns and forgets the directories kept for listing id, or nil.
func (c *pageCache) take(id string) map[string][]dirEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.states[id]
	if st == nil {
		return nil
	}
	st.timer.Stop()
	delete(c.states, id)
	return st.dirs
}

// drop forgets st, if it still is the state of listing id.
func (c *pageCache) drop(id string, st *pageState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.states[id] == st {
		delete(c.states, id)
	}
}

// clear forgets every state.
func (c *pageCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.states {
		st.timer.Stop()
	}
	c.states = nil
}
