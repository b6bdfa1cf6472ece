package main

// Worker processes. One process holds at most as many sockets as its
// open-file limit (20,000 here), so with --procs N the contest re-executes
// this binary N times (with KEPU_LOADTEST_WORKER set) and each worker holds
// every N-th player. The parent keeps the host and talks to each worker
// over the worker's stdin and stdout, one JSON message a line; a worker's
// stderr is the parent's. At the end each worker sends its histograms and
// counters, one share per instance, and the parent merges them.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// workerEnv, when set, makes the binary a worker (see workerMain).
const workerEnv = "KEPU_LOADTEST_WORKER"

// workerMsg is every message on the pipes.
//
//	parent → worker: "start" (Start), "lobby" (the lobby is full),
//	                 "next"/"board" (Q, At: when the host asked), "stop"
//	worker → parent: "status" (counts, twice a second), "done" (Stats: one share per instance)
type workerMsg struct {
	Op        string        `json:"op"`
	Start     *workerStart  `json:"start,omitempty"`
	Q         int           `json:"q,omitempty"`
	At        int64         `json:"at,omitempty"`
	Connected int64         `json:"connected,omitempty"`
	Finals    int64         `json:"finals,omitempty"`
	Answers   int64         `json:"answers,omitempty"`
	Errors    int64         `json:"errors,omitempty"`
	Stats     []StatsExport `json:"stats,omitempty"`
}

// workerStart is a worker's share of the run.
type workerStart struct {
	Proc, Procs int // this worker holds players i with i mod Procs = Proc
	URLs        []string
	Room        int64
	PIN         string
	Opts        contestOpts
	StartAt     int64 // unix ns: player i joins at StartAt + i×join-over/players
	Deadline    int64 // unix ns: the run's hard limit
}

// workerMain runs one worker: its players, until "stop" (or the parent's
// end: stdin closed).
func workerMain(stdin io.Reader, stdout, stderr io.Writer) int {
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 64<<10), 16<<20)
	var enc sync.Mutex
	out := json.NewEncoder(stdout)
	send := func(m workerMsg) {
		enc.Lock()
		defer enc.Unlock()
		out.Encode(m)
	}
	var m workerMsg
	if !in.Scan() || json.Unmarshal(in.Bytes(), &m) != nil || m.Op != "start" || m.Start == nil {
		fmt.Fprintln(stderr, "loadtest worker: want a start message on stdin")
		return 2
	}
	s := m.Start
	if _, err := raiseFileLimit(); err != nil {
		fmt.Fprintf(stderr, "loadtest worker %d: %v\n", s.Proc, err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, s.Deadline))
	defer cancel()
	if s.Opts.CPUProfile != "" {
		f, err := os.Create(fmt.Sprintf("%s.worker%d", s.Opts.CPUProfile, s.Proc))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	r := newContestRun(s.Opts, s.Room, s.PIN, newContestInsts(s.URLs, true), nil)
	r.startPlayers(ctx, time.Unix(0, s.StartAt), s.Proc, s.Procs)
	sum := func(f func(*Stats) int64) (n int64) {
		for _, in := range r.insts {
			n += f(in.stats)
		}
		return n
	}
	stopStatus := make(chan struct{})
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopStatus:
				return
			case <-t.C:
			}
			c, f := r.counts()
			send(workerMsg{Op: "status", Connected: c, Finals: f,
				Answers: sum(func(s *Stats) int64 { return s.Counter("answers") }), Errors: sum((*Stats).Errors)})
		}
	}()
	defer close(stopStatus)
	for in.Scan() {
		var m workerMsg
		if err := json.Unmarshal(in.Bytes(), &m); err != nil {
			fmt.Fprintf(stderr, "loadtest worker %d: bad message: %v\n", s.Proc, err)
			continue
		}
		switch m.Op {
		case "lobby":
			r.lobbyFull()
		case "next", "board":
			r.setMark(m.Op, m.Q, m.At)
		case "stop":
			r.finish()
			shares := make([]StatsExport, len(r.insts))
			for i, in := range r.insts {
				shares[i] = in.stats.Export()
			}
			send(workerMsg{Op: "done", Stats: shares})
			return 0
		}
	}
	cancel() // the parent is gone
	r.finish()
	return 1
}

// workerPool is the parent's side: the fleet of players in N workers.
type workerPool struct {
	r       *contestRun
	live    *Stats // progress: answers and errors as the workers report them
	workers []*worker
}

type worker struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	mu        sync.Mutex // one writer on stdin
	enc       *json.Encoder
	connected atomic.Int64
	finals    atomic.Int64
	done      chan []StatsExport // the worker's shares, once
	exited    chan struct{}      // its stdout ended
}

func (w *worker) send(m workerMsg) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(m)
}

// startWorkers starts --procs workers, each with its share of the players
// arriving from start on.
func startWorkers(ctx context.Context, r *contestRun, urls []string, start time.Time) (*workerPool, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("workers: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Hour)
	}
	p := &workerPool{r: r, live: NewStats()}
	for k := 0; k < r.o.Procs; k++ {
		w, err := p.start(exe, workerStart{Proc: k, Procs: r.o.Procs, URLs: urls, Room: r.room, PIN: r.pin, Opts: r.o,
			StartAt: start.UnixNano(), Deadline: deadline.UnixNano()})
		if err != nil {
			p.finish()
			return nil, fmt.Errorf("worker %d: %w", k, err)
		}
		p.workers = append(p.workers, w)
	}
	return p, nil
}

func (p *workerPool) start(exe string, s workerStart) (*worker, error) {
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), workerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &worker{cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin), done: make(chan []StatsExport, 1), exited: make(chan struct{})}
	go p.read(w, stdout)
	if err := w.send(workerMsg{Op: "start", Start: &s}); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	return w, nil
}

// read follows one worker's stdout.
func (p *workerPool) read(w *worker, stdout io.Reader) {
	defer close(w.exited)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	var answers, errs int64
	for sc.Scan() {
		var m workerMsg
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		switch m.Op {
		case "status":
			w.connected.Store(m.Connected)
			w.finals.Store(m.Finals)
			p.live.Count("answers", m.Answers-answers)
			if m.Errors > errs {
				p.live.errorN("in the workers (see the summary)", m.Errors-errs)
			}
			answers, errs = m.Answers, max(m.Errors, errs)
		case "done":
			w.done <- m.Stats
		}
	}
}

func (p *workerPool) each(f func(w *worker)) {
	for _, w := range p.workers {
		f(w)
	}
}

func (p *workerPool) counts() (connected, finals int64) {
	p.each(func(w *worker) { connected += w.connected.Load(); finals += w.finals.Load() })
	return connected, finals
}

func (p *workerPool) lobbyFull() { p.each(func(w *worker) { w.send(workerMsg{Op: "lobby"}) }) }

func (p *workerPool) mark(mark string, q int, at int64) {
	p.each(func(w *worker) { w.send(workerMsg{Op: mark, Q: q, At: at}) })
}

// finish stops every worker and merges their shares into the run's totals
// and its instances' shares.
func (p *workerPool) finish() error {
	p.each(func(w *worker) { w.send(workerMsg{Op: "stop"}) })
	var errs []error
	for k, w := range p.workers {
		// The figures come before the end of the output: once the output
		// ended they are in w.done or they never came.
		select {
		case <-w.exited:
		case <-time.After(2 * time.Minute):
		}
		select {
		case shares := <-w.done:
			for i, e := range shares {
				p.r.all.Merge(e)
				if i < len(p.r.insts) && p.r.insts[i].stats != nil {
					p.r.insts[i].stats.Merge(e)
				}
			}
		default:
			errs = append(errs, fmt.Errorf("worker %d ended without its figures", k))
		}
		w.stdin.Close()
		select {
		case <-w.exited:
		default:
			w.cmd.Process.Kill() // no figures in 2 minutes
		}
		w.cmd.Wait()
	}
	return errors.Join(errs...)
}

// cpu says how much CPU time each worker used (after finish).
func (p *workerPool) cpu() string {
	var b strings.Builder
	for k, w := range p.workers {
		if ps := w.cmd.ProcessState; ps != nil {
			fmt.Fprintf(&b, ", worker %d %.1f s", k, (ps.UserTime() + ps.SystemTime()).Seconds())
		}
	}
	return b.String()
}

// rss says how much memory each worker holds.
func (p *workerPool) rss() string {
	var b strings.Builder
	for k, w := range p.workers {
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "worker %d: %d MiB", k, rssKB(w.cmd.Process.Pid)/1024)
	}
	return b.String()
}
