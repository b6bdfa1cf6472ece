package testenv

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
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

// Counted returns a Prometheus counter's value.
func Counted(c prometheus.Counter) float64 {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 {
		panic(fmt.Sprintf("testenv: read counter: %v", err))
	}
	return mfs[0].GetMetric()[0].GetCounter().GetValue()
}
