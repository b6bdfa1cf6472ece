package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/rdb"
	"github.com/kepu/kepu/internal/realtime"
)

// redisCluster is a Redis Cluster of three masters (no replicas), each a
// private redis-server process with cluster-enabled, on its own ports and
// in its own temporary directory.
type redisCluster struct {
	nodes []*redisProc
}

// startRedisCluster starts the three nodes, joins them with
// `redis-cli --cluster create` (the slots split in three) and waits until
// every node says the cluster is ok. The nodes are stopped by PID when the
// test ends (startRedis).
func startRedisCluster(t *testing.T) *redisCluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("redis-cli is not installed: run scripts/services.sh (make test does)")
	}
	rc := &redisCluster{}
	args := []string{"--cluster", "create"}
	for range 3 {
		n := startRedis(t, fmt.Sprintf("cluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 2000\ncluster-port %d",
			freePort(t)), false)
		rc.nodes = append(rc.nodes, n)
		args = append(args, n.addr())
	}
	args = append(args, "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, n := range rc.nodes {
		c := n.client()
		waitFor(t, 15*time.Second, fmt.Sprintf("cluster node :%d ok", n.port), func() bool {
			info, _ := c.ClusterInfo(context.Background()).Result()
			return strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3")
		})
		c.Close()
	}
	return rc
}

// url is KEPU_REDIS_URL for the cluster: every node, as an operator
// would write it.
func (rc *redisCluster) url() string {
	addrs := make([]string, len(rc.nodes))
	for i, n := range rc.nodes {
		addrs[i] = n.addr()
	}
	return rdb.ClusterScheme + "://" + strings.Join(addrs, ",")
}

// moveSlot gives slot to the master to, as a resharding does: importing
// and migrating states, its keys migrated, then the new owner announced
// to both; it waits until every node agrees.
// slotOwner is the id of the master that serves slot as node c sees the
// cluster (CLUSTER SHARDS), or "" when c cannot tell.
func slotOwner(ctx context.Context, c *redis.Client, slot int) string {
	shards, err := c.ClusterShards(ctx).Result()
	if err != nil {
		return ""
	}
	for _, sh := range shards {
		for _, r := range sh.Slots {
			if int(r.Start) <= slot && slot <= int(r.End) {
				for _, n := range sh.Nodes {
					if n.Role == "master" {
						return n.ID
					}
				}
			}
		}
	}
	return ""
}

func (rc *redisCluster) moveSlot(t *testing.T, slot int, to *redisProc) {
	t.Helper()
	ctx := context.Background()
	var from *redisProc
	ids := map[*redisProc]string{}
	for _, n := range rc.nodes {
		c := n.client()
		ids[n] = c.ClusterMyID(ctx).Val()
		if slotOwner(ctx, c, slot) == ids[n] {
			from = n
		}
		c.Close()
	}
	if from == nil || from == to {
		t.Fatalf("slot %d: owner %v, target %v", slot, from, to)
	}
	src, dst := from.client(), to.client()
	defer src.Close()
	defer dst.Close()
	do := func(c *redis.Client, args ...any) {
		t.Helper()
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	do(dst, "cluster", "setslot", slot, "importing", ids[from])
	do(src, "cluster", "setslot", slot, "migrating", ids[to])
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, slot, 100).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 {
			break
		}
		args := []any{"migrate", "127.0.0.1", to.port, "", 0, 5000, "keys"}
		for _, k := range keys {
			args = append(args, k)
		}
		do(src, args...)
	}
	do(dst, "cluster", "setslot", slot, "node", ids[to])
	do(src, "cluster", "setslot", slot, "node", ids[to])
	for _, n := range rc.nodes {
		c := n.client()
		waitFor(t, 10*time.Second, fmt.Sprintf("node :%d sees slot %d on :%d", n.port, slot, to.port), func() bool {
			return slotOwner(ctx, c, slot) == ids[to]
		})
		c.Close()
	}
}

func (rc *redisCluster) client(t *testing.T) *redis.ClusterClient {
	t.Helper()
	o, err := rdb.ParseClusterURL(rc.url())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClusterClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRedisCluster: two instances on a three-master Redis Cluster
// (KEPU_REDIS_URL=redis+cluster://…). Citizens answer and finish the demo
// campaign on both; the boards show them with the caller's rank, and are
// rebuilt from Postgres after Redis lost them (a stale board of the
// campaign is removed by the rebuild, so it scanned the right node); a
// session ended on one instance ends on the other at once though the
// other cached it for a minute; the login backoff counts failures across
// instances; and an open dashboard socket is pushed the finished
// citizens. On the code before Redis Cluster support the URL is refused,
// and with it every multi-key script fails with CROSSSLOT.
func TestRedisCluster(t *testing.T) {
	t.Parallel()
	const citizens, perCitizen = 4, 6
	rc := startRedisCluster(t)
	cc := rc.client(t)
	env := map[string]string{"KEPU_REDIS_URL": rc.url(), "KEPU_SESSION_CACHE_TTL": "1m"}
	a := apptest.Start(t, apptest.Options{Env: env})
	b := apptest.Start(t, apptest.Options{Shared: a, Env: env})
	for _, i := range []*apptest.Instance{a, b} {
		waitFor(t, 10*time.Second, "session cache serving on "+i.URL, i.App.Sessions.Live)
	}
	ctx := context.Background()
	keys := a.Redis.Keys
	campaignID, passwords := demoCitizens(t, a, "cl", citizens)

	// A dashboard of the campaign, open on B before anyone answers.
	admin := a.Login("demo-admin", a.DemoPassword("demo-admin"))
	ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws%s/ws/dash/%d", strings.TrimPrefix(b.URL, "http"), campaignID),
		http.Header{"Origin": {b.URL}, "Cookie": {"kepu_session=" + admin.Cookie("kepu_session")}})
	if err != nil {
		t.Fatalf("dashboard socket on B: %v", err)
	}
	defer ws.Close()

	answerCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	log := newAnswerLog()
	var wg sync.WaitGroup
	i := 0
	for name, pw := range passwords {
		base := []string{a.URL, b.URL}[i%2]
		i++
		wg.Go(func() { log.citizen(answerCtx, base, name, pw, campaignID, perCitizen, true) })
	}
	wg.Wait()
	if got := int(log.answered.Load()); got != citizens*perCitizen || log.retried.Load() != 0 {
		t.Fatalf("answers: %d acknowledged, %d requests failed (%v); want %d and none", got, log.retried.Load(), log.failed, citizens*perCitizen)
	}
	log.checkStored(t, a.DB.Pool)

	type board struct {
		Top []struct {
			Rank     int
			Nickname string
			Score    int
			Me       bool
		}
		MyRank     *int `json:"my_rank"`
		Rebuilding bool
	}
	// Citizens finish after perCitizen answers, questions left: an attempt
	// given up that way with 0 points is never ranked (campaign_attempts.abandoned).
	rows, _ := a.DB.Pool.Query(ctx, `SELECT DISTINCT u.username FROM campaign_attempts t JOIN users u ON u.id = t.user_id
		WHERE t.campaign_id = $1 AND t.finished_at IS NOT NULL AND NOT (t.abandoned AND t.score = 0) ORDER BY 1`, campaignID)
	ranked, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ranked) == 0 {
		t.Fatalf("ranked citizens: %v %v (every one scored 0: rerun)", ranked, err)
	}
	first := ranked[0]
	{
		onB := b.Login(first, passwords[first])
		readBoard := func() (board, string) {
			r := onB.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?n=10", campaignID), nil)
			apptest.Expect(t, r, 200, "the board on B")
			var v board
			r.JSON(t, &v)
			return v, fmt.Sprint(v.Top)
		}
		t.Run("boards", func(t *testing.T) {
			v, top := readBoard()
			if len(v.Top) != len(ranked) || v.MyRank == nil {
				t.Fatalf("board: %d entries, my rank %v; want %d entries and a rank", len(v.Top), v.MyRank, len(ranked))
			}
			mine := 0
			for _, e := range v.Top {
				if e.Me {
					mine = e.Rank
				}
			}
			if mine != *v.MyRank {
				t.Errorf("my line has rank %d, my_rank is %d", mine, *v.MyRank)
			}
			// Every key of the campaign's boards is in one slot, on the
			// node that owns it.
			node, err := cc.MasterForKey(ctx, keys.BoardsBuilt(campaignID))
			if err != nil {
				t.Fatal(err)
			}
			old, err := node.Keys(ctx, keys.BoardPattern(campaignID)).Result()
			if err != nil || len(old) < 2 {
				t.Fatalf("keys of the campaign on the node of its marker: %v %v", old, err)
			}
			for _, k := range old {
				if s, ms := cc.ClusterKeySlot(ctx, k).Val(), cc.ClusterKeySlot(ctx, keys.BoardsBuilt(campaignID)).Val(); s != ms {
					t.Errorf("%s in slot %d, the marker in %d", k, s, ms)
				}
			}

			// Redis loses the boards (and a stale board is left over):
			// the next read rebuilds them from Postgres.
			for _, k := range old {
				cc.Del(ctx, k)
			}
			stale := keys.Board(campaignID, "school:999999", "all")
			cc.ZAdd(ctx, stale, redis.Z{Score: 1, Member: "1"})
			waitFor(t, 15*time.Second, "the boards rebuilt", func() bool {
				w, got := readBoard()
				return !w.Rebuilding && got == top && w.MyRank != nil && *w.MyRank == *v.MyRank
			})
			if n := cc.Exists(ctx, stale).Val(); n != 0 {
				t.Errorf("the stale board %s outlived the rebuild", stale)
			}
			if a.App.Boards.Rebuilds()+b.App.Boards.Rebuilds() == 0 {
				t.Error("no instance counted a rebuild")
			}
		})
	}

	t.Run("broker", func(t *testing.T) {
		// A pattern subscription (on the node of the pattern's slot) gets
		// a PUBLISH sent to any node: the cluster passes it to all.
		bctx, stop := context.WithCancel(ctx)
		defer stop()
		broker := realtime.RedisBroker{Client: cc}
		got := make(chan string, 8)
		done, err := broker.Subscribe(bctx, keys.BoardChannelPattern(), func(ch string, _ []byte) { got <- ch })
		if err != nil {
			t.Fatal(err)
		}
		shard := make(chan string, 1)
		sdone, err := broker.SubscribeShard(bctx, keys.DashRefreshChannel(), func(ch string, _ []byte) { shard <- ch })
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range rc.nodes {
			c := n.client()
			err := c.Publish(ctx, keys.BoardChannel(int64(900+i)), "changed").Err()
			c.Close()
			if err != nil {
				t.Fatalf("PUBLISH on node :%d: %v", n.port, err)
			}
			select {
			case ch := <-got:
				if ch != keys.BoardChannel(int64(900+i)) {
					t.Errorf("got %s, want %s", ch, keys.BoardChannel(int64(900+i)))
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("PUBLISH on node :%d did not reach the pattern subscription", n.port)
			}
		}
		if err := broker.PublishShard(ctx, keys.DashRefreshChannel(), nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-shard:
		case <-time.After(5 * time.Second):
			t.Fatal("SPUBLISH did not reach the shard subscription")
		}
		stop()
		<-done
		<-sdone
	})

	t.Run("session revoked on the other instance", func(t *testing.T) {
		// Both instances listen on the sharded channel: SPUBLISH reaches
		// two (an unknown message only empties their caches).
		if n, err := cc.SPublish(ctx, keys.SessionChannel(), "x").Result(); err != nil || n != 2 {
			t.Fatalf("SPUBLISH on %s: %d subscribers (%v), want 2", keys.SessionChannel(), n, err)
		}
		for _, pair := range [][2]*apptest.Instance{{a, b}, {b, a}} {
			here, there := pair[0], pair[1]
			c := here.Login(first, passwords[first])
			cached := there.SameBrowser(c)
			apptest.Expect(t, cached.Do("GET", "/api/v1/me", nil), 200, "the session on "+there.URL)
			if there.App.Sessions.Len() == 0 {
				t.Fatalf("%s did not cache the session", there.URL)
			}
			apptest.Expect(t, c.Do("POST", "/api/v1/auth/logout", nil), 204, "logout on "+here.URL)
			apptest.Expect(t, cached.Do("GET", "/api/v1/me", nil), 401, "the session on "+there.URL+" right after the logout")
		}
	})

	t.Run("a shard channel's slot moves", func(t *testing.T) {
		// Resharding moves the slot of the session channel to another
		// master; Redis ends the instances' shard subscriptions there
		// (sunsubscribe), and they subscribe again on the new owner.
		slot := int(cc.ClusterKeySlot(ctx, keys.SessionChannel()).Val())
		owner, err := cc.MasterForKey(ctx, keys.SessionChannel())
		if err != nil {
			t.Fatal(err)
		}
		to := rc.nodes[0]
		if to.addr() == owner.Options().Addr {
			to = rc.nodes[1]
		}
		rc.moveSlot(t, slot, to)
		waitFor(t, 10*time.Second, "both instances subscribed on the new owner", func() bool {
			n, _ := cc.SPublish(ctx, keys.SessionChannel(), "x").Result()
			return n == 2
		})
		c := a.Login(first, passwords[first])
		cached := b.SameBrowser(c)
		apptest.Expect(t, cached.Do("GET", "/api/v1/me", nil), 200, "the session on B")
		apptest.Expect(t, c.Do("POST", "/api/v1/auth/logout", nil), 204, "logout on A")
		apptest.Expect(t, cached.Do("GET", "/api/v1/me", nil), 401, "the session on B right after the logout")
	})

	t.Run("login backoff across instances", func(t *testing.T) {
		for i := 1; i <= 5; i++ {
			inst := []*apptest.Instance{a, b}[i%2]
			r := inst.Client().Do("POST", "/api/v1/auth/login", map[string]string{"username": first, "password": "wrong"})
			apptest.Expect(t, r, 401, fmt.Sprintf("wrong password %d", i))
		}
		for _, inst := range []*apptest.Instance{a, b} {
			r := inst.Client().Do("POST", "/api/v1/auth/login", map[string]string{"username": first, "password": passwords[first]})
			if r.Status != 429 || r.Header.Get("Retry-After") == "" {
				t.Errorf("%s: after 5 failures: got %d (Retry-After %q), want 429 with Retry-After", inst.URL, r.Status, r.Header.Get("Retry-After"))
			}
		}
	})

	t.Run("dashboard socket", func(t *testing.T) {
		ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			var m struct {
				Type     string
				Headline struct{ Participants int }
			}
			if err := ws.ReadJSON(&m); err != nil {
				t.Fatalf("no headline with %d participants: %v", citizens, err)
			}
			if m.Type == "headline" && m.Headline.Participants == citizens {
				break
			}
		}
	})

	t.Run("a master dies", func(t *testing.T) {
		// The master holding the campaign's boards is killed (no replica
		// takes over): reading the boards is a 503 with Retry-After, not
		// a 500, and what lives in Postgres goes on.
		c := b.Login("cl01", passwords["cl01"])
		node, err := cc.MasterForKey(ctx, keys.BoardsBuilt(campaignID))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range rc.nodes {
			if n.addr() == node.Options().Addr {
				n.kill(t)
			}
		}
		unavailable := func(what string, campaign int64) {
			t.Helper()
			waitFor(t, 15*time.Second, what, func() bool {
				r := c.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard", campaign), nil)
				if r.Status == 500 {
					t.Fatalf("%s: got 500 %s", what, r.Body)
				}
				return r.Status == 503 && r.Header.Get("Retry-After") != ""
			})
		}
		unavailable("the board on the dead master: 503", campaignID)
		apptest.Expect(t, c.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d", campaignID), nil), 200, "the campaign with a master down")
		// A campaign whose boards live on a master that is up: once the
		// cluster has marked the dead one failed, the live masters refuse
		// every key (CLUSTERDOWN) — a 503 too.
		other := int64(0)
		for id := int64(1000); other == 0; id++ {
			if n, err := cc.MasterForKey(ctx, keys.BoardsBuilt(id)); err == nil && n.Options().Addr != node.Options().Addr {
				other = id
			}
		}
		_, err = a.DB.Pool.Exec(ctx, `INSERT INTO campaigns SELECT (jsonb_populate_record(c,
			jsonb_build_object('id', $2::bigint, 'title', c.title || ' 2'))).* FROM campaigns c WHERE id = $1`, campaignID, other)
		if err != nil {
			t.Fatal(err)
		}
		unavailable("a board on a live master of the failed cluster: 503", other)
	})
}

// TestRedisClusterContest: a class plays a three-question contest on two
// instances on a Redis Cluster: the host on one, the players on the
// other; every answer is acknowledged, every player sees the podium, and
// the results reach Postgres.
func TestRedisClusterContest(t *testing.T) {
	t.Parallel()
	const players, questions = 6, 3
	rc := startRedisCluster(t)
	env := map[string]string{"KEPU_REDIS_URL": rc.url()}
	a := apptest.Start(t, apptest.Options{Env: env})
	b := apptest.Start(t, apptest.Options{Shared: a, Env: env})
	_, pw := a.CreateUser("host1", "teacher")
	teacher := b.Login("host1", pw)
	runID, pin := newContestRun(t, a.DB.Pool, teacher, questions)

	// The players on A, the host on B.
	g := &game{t: t, base: a.URL, acked: make([]atomic.Int32, questions), revealed: make(chan int, players*questions)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g.play(ctx, teacher, runID, pin, players, nil)
	g.check(a.DB.Pool, runID)
}
