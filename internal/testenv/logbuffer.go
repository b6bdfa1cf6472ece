package testenv

import (
	"bytes"
	"strings"
	"sync"
)

// LogBuffer collects what a logger writes, safe for the logger's
// goroutines and the test reading it.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Count returns how many times sub occurs in what was written.
func (l *LogBuffer) Count(sub string) int { return strings.Count(l.String(), sub) }
