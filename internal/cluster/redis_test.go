package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisProc is a private redis-server (or sentinel) process of a test.
type redisProc struct {
	port int
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startRedis runs redis-server with conf (a redis.conf body; port, bind,
// dir and log are added) and waits until it answers PING.
func startRedis(t *testing.T, conf string, sentinel bool) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed: run scripts/services.sh (make test does)")
	}
	dir := t.TempDir()
	p := &redisProc{port: freePort(t), done: make(chan struct{}), log: filepath.Join(dir, "redis.log")}
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsave \"\"\nappendonly no\n%s\n", p.port, dir, p.log, conf)
	file := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{file}
	if sentinel {
		args = append(args, "--sentinel")
	}
	p.cmd = exec.Command(bin, args...)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start redis: %v", err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("redis :%d log (tail):\n%s", p.port, tail(string(b), 2000))
		}
	})
	c := p.client()
	defer c.Close()
	waitFor(t, 10*time.Second, fmt.Sprintf("redis :%d answers", p.port), func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
	return p
}

func (p *redisProc) addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

func (p *redisProc) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: p.addr(), MaxRetries: -1, DialTimeout: time.Second})
}

// kill stops the process with SIGKILL, by its PID.
func (p *redisProc) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("redis :%d still running after SIGKILL", p.port)
	}
}

// waitFor polls cond every 50 ms until it holds, failing after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sentinelSet is a master, its replica and one sentinel watching them
// (quorum 1: this sentinel alone decides a failover).
type sentinelSet struct {
	master, replica, sentinel *redisProc
}

const sentinelMaster = "kepu"

func startSentinelSet(t *testing.T) *sentinelSet {
	t.Helper()
	s := &sentinelSet{master: startRedis(t, "", false)}
	s.replica = startRedis(t, "replicaof 127.0.0.1 "+fmt.Sprint(s.master.port), false)
	rc := s.replica.client()
	defer rc.Close()
	waitFor(t, 15*time.Second, "replica in sync", func() bool {
		info, _ := rc.Info(context.Background(), "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	s.sentinel = startRedis(t, fmt.Sprintf(`sentinel monitor %[1]s 127.0.0.1 %[2]d 1
sentinel down-after-milliseconds %[1]s 1000
sentinel failover-timeout %[1]s 10000
sentinel parallel-syncs %[1]s 1`, sentinelMaster, s.master.port), true)
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.sentinel.addr()})
	defer sc.Close()
	waitFor(t, 15*time.Second, "sentinel knows the replica", func() bool {
		r, err := sc.Replicas(context.Background(), sentinelMaster).Result()
		return err == nil && len(r) > 0
	})
	return s
}

// url is KEPU_REDIS_URL for the set.
func (s *sentinelSet) url() string {
	return fmt.Sprintf("redis+sentinel://%s/%s", s.sentinel.addr(), sentinelMaster)
}

// masterPort is the port of the master the sentinel names now.
func (s *sentinelSet) masterPort(t *testing.T) string {
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.sentinel.addr()})
	defer sc.Close()
	addr, err := sc.GetMasterAddrByName(context.Background(), sentinelMaster).Result()
	if err != nil || len(addr) != 2 {
		return ""
	}
	return addr[1]
}
