package cluster_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/testenv"
)

// secretKey is shared by the instances of a test (sessions and CSRF
// tokens made on one are accepted by the others).
const secretKey = "6b6570752d636c75737465722d746573742d7365637265742d6b65792d303031"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// kepuBinary builds cmd/kepu once per test process.
func kepuBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kepu-cluster-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "kepu")
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("no go command on PATH: %w", err)
			return
		}
		cmd := exec.Command(goBin, "build", "-o", binPath, "github.com/kepu/kepu/cmd/kepu")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// cluster is a database, a Redis prefix, and the environment every
// instance of the test runs with.
type cluster struct {
	t      *testing.T
	bin    string
	env    []string
	db     *testenv.DB
	prefix string // KEPU_REDIS_PREFIX
}

// newCluster makes a fresh database (migrated) and Redis prefix, loads
// the demo data and returns the environment for instances behind base.
func newCluster(t *testing.T, base string) *cluster {
	t.Helper()
	db, rd := testenv.NewDB(t), testenv.NewRedis(t)
	c := &cluster{t: t, bin: kepuBinary(t), db: db, prefix: rd.Prefix, env: append(os.Environ(),
		"KEPU_DATABASE_URL="+db.URL, "KEPU_REDIS_URL="+testenv.RedisURL(), "KEPU_REDIS_PREFIX="+rd.Prefix,
		"KEPU_BASE_URL="+base, "KEPU_TRUSTED_PROXIES=127.0.0.1", "KEPU_SECRET_KEY="+secretKey,
		"KEPU_LOG_LEVEL=warn", "KEPU_MAX_HASHES=8")}
	c.run("seed", "--quiet")
	return c
}

// run runs a kepu subcommand to completion.
func (c *cluster) run(args ...string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("kepu %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// instance is one `kepu serve` process.
type instance struct {
	addr string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
}

// start runs `kepu serve` on a free port and waits until /readyz says 200.
func (c *cluster) start() *instance {
	c.t.Helper()
	in := &instance{addr: fmt.Sprintf("127.0.0.1:%d", freePort(c.t)), log: &bytes.Buffer{}, done: make(chan struct{})}
	in.cmd = exec.Command(c.bin, "serve")
	in.cmd.Env = append(c.env, "KEPU_ADDR="+in.addr)
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	if err := in.cmd.Start(); err != nil {
		c.t.Fatalf("start kepu: %v", err)
	}
	go func() { in.cmd.Wait(); close(in.done) }()
	c.t.Cleanup(func() {
		in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.done:
		case <-time.After(20 * time.Second):
			in.cmd.Process.Kill()
			<-in.done
		}
		if c.t.Failed() {
			c.t.Logf("instance %s log (tail):\n%s", in.addr, tail(in.log.String(), 3000))
		}
	})
	waitHTTP(c.t, "http://"+in.addr+"/readyz", in.done)
	return in
}

// kill stops the instance with SIGKILL (no graceful anything) and waits
// until the process is gone.
func (in *instance) kill(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", in.addr, err)
	}
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("instance %s still running 10 s after SIGKILL", in.addr)
	}
}

// waitHTTP polls url until it answers 200 (at most 30 s, or until dead closes).
func waitHTTP(t *testing.T, url string, dead <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case <-dead:
			t.Fatalf("%s: the process exited", url)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not ready after 30 s (last error %v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// upstreamLine matches the server lines of deploy/nginx/kepu.conf's upstream.
var upstreamLine = regexp.MustCompile(`(?m)^\s*server 127\.0\.0\.1:\d+ ([^;]*);\n`)

// startNginx runs nginx with deploy/nginx/kepu.conf as it is, but for the
// listen port and the upstream's servers (one per addr), in its own
// prefix directory, and stops it when the test ends.
func startNginx(t *testing.T, port int, addrs []string) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("nginx is not installed: run scripts/services.sh (make test does), or apt-get install nginx-light")
		}
	}
	conf, err := os.ReadFile("../../deploy/nginx/kepu.conf")
	if err != nil {
		t.Fatal(err)
	}
	var servers strings.Builder
	params := upstreamLine.FindStringSubmatch(string(conf))
	if params == nil {
		t.Fatal("deploy/nginx/kepu.conf: no upstream server lines")
	}
	for _, a := range addrs {
		fmt.Fprintf(&servers, "    server %s %s;\n", a, params[1])
	}
	site := string(conf)
	first := upstreamLine.FindStringIndex(site)
	site = site[:first[0]] + servers.String() + upstreamLine.ReplaceAllString(site[first[0]:], "")
	if !strings.Contains(site, "listen 80;") {
		t.Fatal("deploy/nginx/kepu.conf: no `listen 80;` line")
	}
	site = strings.Replace(site, "listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", port), 1)

	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers must read and write the temp dirs below
	}
	main := fmt.Sprintf(`%sdaemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 2048; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/kepu.conf;
}
`, user, dir)
	if err := os.WriteFile(filepath.Join(dir, "kepu.conf"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT) // graceful stop
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log (tail):\n%s", out.String(), tail(string(log), 3000))
		}
	})
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), done)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
