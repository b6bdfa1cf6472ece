// Command loadtest drives a running Kepu server the way browsers do (HTTP and
// websockets) to size a deployment and keep Kepu fast.
//
//	go run ./loadtest campaign    --url http://127.0.0.1:8080 --users 500 --duration 60s
//	go run ./loadtest contest     --url http://127.0.0.1:8080 --players 10000
//	go run ./loadtest leaderboard --url http://127.0.0.1:8080 --watchers 1000
//	go run ./loadtest contest     --url http://127.0.0.1:18131,http://127.0.0.1:18132,http://127.0.0.1:18133 \
//	    --players 30000 --procs 2    # one room over three instances, phones in two worker processes
//
// Every run is bounded by --duration and its counts and stops by itself. It
// targets only loopback addresses unless --allow-remote is given. It prints a
// progress line every second and a final table of p50/p95/p99/max latencies
// (HDR histograms), counters and errors by kind; --json prints the summary as
// JSON for comparisons. See docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Env is what every scenario gets: the common flags, the stats and output.
type Env struct {
	URL         string   // the first of URLs: where the scenario sets up and hosts
	URLs        []string // every --url (several only for scenarios with MultiURL)
	Duration    time.Duration
	JSON        bool
	AllowRemote bool
	DatabaseURL string
	Admin       string
	AdminPass   string
	Stats       *Stats
	Out         io.Writer // progress and notes (stderr when --json)
	Params      map[string]any
	Checks      map[string]string
	Instances   []InstanceSummary // per server, when the scenario spread over several
}

// Scenario is one kind of load.
type Scenario struct {
	Help  string
	Flags func(fs *flag.FlagSet) func(ctx context.Context, env *Env) error
	// MultiURL: the scenario spreads its clients over several instances
	// (--url a,b,c or --url repeated); others take one --url.
	MultiURL bool
}

var scenarios = map[string]Scenario{}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: go run ./loadtest <scenario> [flags]\n\nscenarios:")
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, scenarios[n].Help)
	}
	fmt.Fprintln(w, "\nrun `go run ./loadtest <scenario> -h` for its flags")
}

func main() {
	if os.Getenv(workerEnv) != "" {
		os.Exit(workerMain(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// urlList is --url: comma-separated, repeatable; the first value given
// replaces the default.
type urlList struct {
	urls []string
	set  bool
}

func (l *urlList) String() string { return strings.Join(l.urls, ",") }

func (l *urlList) Set(v string) error {
	if !l.set {
		l.urls, l.set = nil, true
	}
	for _, u := range strings.Split(v, ",") {
		if u = strings.TrimSpace(u); u != "" {
			l.urls = append(l.urls, strings.TrimRight(u, "/"))
		}
	}
	return nil
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	sc, ok := scenarios[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "loadtest: unknown scenario %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := &Env{Stats: NewStats(), Params: map[string]any{}, Checks: map[string]string{}}
	urls := &urlList{urls: []string{"http://127.0.0.1:8080"}}
	fs.Var(urls, "url", "Kepu server to load (loopback only unless --allow-remote); contest: several instances, comma-separated or repeated")
	fs.DurationVar(&env.Duration, "duration", 60*time.Second, "hard limit on the run's length")
	fs.BoolVar(&env.JSON, "json", false, "print the final summary as JSON")
	fs.BoolVar(&env.AllowRemote, "allow-remote", false, "allow a non-loopback --url (only a server you run)")
	fs.StringVar(&env.DatabaseURL, "database-url", envOr("KEPU_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kepu?sslmode=disable"),
		"Postgres of the server, for the end-of-run checks")
	fs.StringVar(&env.Admin, "admin", "demo-organizer", "organizer account used to set the scenario up")
	fs.StringVar(&env.AdminPass, "admin-password", os.Getenv("KEPU_LOADTEST_PASSWORD"), "its password (or KEPU_LOADTEST_PASSWORD)")
	runScenario := sc.Flags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	env.URLs = urls.urls
	if len(env.URLs) == 0 || (len(env.URLs) > 1 && !sc.MultiURL) {
		fmt.Fprintf(stderr, "loadtest: %s takes one --url, got %d\n", args[0], len(env.URLs))
		return 2
	}
	for _, u := range env.URLs {
		if err := checkTarget(u, env.AllowRemote); err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 2
		}
	}
	env.URL = env.URLs[0]
	env.Out = stdout
	if env.JSON {
		env.Out = stderr
	}
	if lim, err := raiseFileLimit(); err != nil {
		fmt.Fprintf(env.Out, "note: could not raise the open-file limit (%v); it is %d\n", err, lim)
	} else {
		fmt.Fprintf(env.Out, "open-file limit: %d\n", lim)
	}
	ctx, cancel := context.WithTimeout(context.Background(), env.Duration)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "admin-password" {
			env.Params[f.Name] = f.Value.String()
		}
	})
	err := runScenario(ctx, env)
	sum := env.Stats.Summary(args[0], env.Params)
	for k, v := range env.Checks {
		sum.Checks[k] = v
	}
	sum.Instances = env.Instances
	if env.JSON {
		sum.WriteJSON(stdout)
	} else {
		sum.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	return 0
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
