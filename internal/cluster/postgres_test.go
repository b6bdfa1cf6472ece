package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// pgProc is a private Postgres server process of a test, with its own data
// directory and port; it runs as the postgres user when the test runs as
// root (Postgres refuses root).
type pgProc struct {
	port int
	data string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// pgBin returns the directory of Postgres's server programs.
func pgBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(dirs) == 0 {
		t.Fatal("Postgres server programs not found: run scripts/services.sh (make test does)")
	}
	return dirs[len(dirs)-1]
}

// pgCredential is how Postgres programs run: as postgres when we are root.
func pgCredential(t *testing.T) *syscall.SysProcAttr {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal("running as root and there is no postgres user to run Postgres as")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// pgDir makes a directory Postgres (perhaps another user) may own.
func pgDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kepu-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if cred := pgCredential(t); cred != nil {
		os.Chown(dir, int(cred.Credential.Uid), int(cred.Credential.Gid))
	}
	return dir
}

// pgRun runs a Postgres program to completion.
func pgRun(t *testing.T, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(pgBin(t), prog), args...)
	cmd.SysProcAttr = pgCredential(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", prog, err, out)
	}
}

// initPostgres makes a fresh cluster and starts it.
func initPostgres(t *testing.T) *pgProc {
	t.Helper()
	dir := pgDir(t)
	data := filepath.Join(dir, "data")
	pgRun(t, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	return startPostgres(t, data)
}

// startPostgres starts the server of data on a free port (fsync off: a
// test's data need not survive a power cut) and waits until it answers.
func startPostgres(t *testing.T, data string) *pgProc {
	t.Helper()
	return startPostgresOn(t, data, freePort(t))
}

// restart starts p's data directory again on the same port (after kill).
func (p *pgProc) restart(t *testing.T) *pgProc {
	t.Helper()
	return startPostgresOn(t, p.data, p.port)
}

func startPostgresOn(t *testing.T, data string, port int) *pgProc {
	t.Helper()
	p := &pgProc{port: port, data: data, done: make(chan struct{}), log: data + ".log"}
	p.cmd = exec.Command(filepath.Join(pgBin(t), "postgres"), "-D", data, "-p", strconv.Itoa(p.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off",
		"-c", "full_page_writes=off", "-c", "max_connections=100")
	// fsync off survives the process being killed (the kernel has the
	// writes), not the machine; commits are acknowledged once written.
	// Its own process group: kill takes the backends with the postmaster.
	p.cmd.SysProcAttr = pgCredential(t)
	if p.cmd.SysProcAttr == nil {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	p.cmd.SysProcAttr.Setpgid = true
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	go func() { p.cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGQUIT) // immediate shutdown
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("postgres :%d log (tail):\n%s", p.port, tail(string(b), 2000))
		}
	})
	pool := p.pool(t, "postgres")
	waitFor(t, 30*time.Second, fmt.Sprintf("postgres :%d answers", p.port), func() bool {
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.log)
			t.Fatalf("postgres :%d exited:\n%s", p.port, tail(string(b), 2000))
		default:
		}
		return pool.Ping(context.Background()) == nil
	})
	return p
}

// replica makes a streaming replica of p (pg_basebackup -R) and starts it.
func (p *pgProc) replica(t *testing.T) *pgProc {
	t.Helper()
	data := filepath.Join(pgDir(t), "data")
	pgRun(t, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "postgres", "-D", data, "-R", "-X", "stream", "--no-sync", "--checkpoint=fast")
	return startPostgres(t, data)
}

func (p *pgProc) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// pool returns a small pool to database db, closed when the test ends.
func (p *pgProc) pool(t *testing.T, db string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(p.url(db) + "&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// kill stops the server and its backends with SIGKILL, by process group
// (as if its machine died).
func (p *pgProc) kill(t *testing.T) {
	t.Helper()
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("postgres :%d still running after SIGKILL", p.port)
	}
}
