package leaderboard_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/leaderboard"
	"github.com/kepu/kepu/internal/seed"
)

// peer is another instance's board service: the same Postgres and Redis,
// its own process memory (read cache, running rebuilds).
func peer(inst *apptest.Instance) *leaderboard.Service {
	b := inst.App.Boards
	return &leaderboard.Service{DB: b.DB, Redis: b.Redis, Keys: b.Keys, Now: b.Now, TagKey: b.TagKey}
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// changes counts the "changed" announcements on a campaign's channel (a
// rebuild's swap makes one) until stop is called; stop returns the count
// once every announcement made before it has arrived.
func changes(t *testing.T, inst *apptest.Instance, campaignID int64) (stop func() int) {
	t.Helper()
	ctx := context.Background()
	b := inst.App.Boards
	sub := b.Redis.Subscribe(ctx, b.Channel(campaignID))
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	ch := sub.Channel()
	return func() int {
		defer sub.Close()
		// Messages of one channel arrive in order: count until our own.
		if err := b.Redis.Publish(ctx, b.Channel(campaignID), "end").Err(); err != nil {
			t.Fatal(err)
		}
		n := 0
		timeout := time.After(10 * time.Second)
		for {
			select {
			case m := <-ch:
				if m.Payload == "end" {
					return n
				}
				n++
			case <-timeout:
				t.Fatal("no end message")
			}
		}
	}
}

func markerExists(t *testing.T, inst *apptest.Instance, campaignID int64) bool {
	t.Helper()
	b := inst.App.Boards
	n, err := b.Redis.Exists(context.Background(), b.Keys.BoardsBuilt(campaignID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestRebuildStampede: after a flush, 40 readers of a 20,000-entry board,
// spread over four instances (HTTP reads and websocket watchers), cause exactly one rebuild and are all
// answered within a bounded time (the board, or 503 "rebuilding"); the
// board they then read is the rebuilt one. (Before the rebuild lock every
// reader rebuilt the board: 40 rebuilds, readers waiting ~10 s here.)
func TestRebuildStampede(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 entries")
	}
	inst := apptest.Start(t)
	ctx := context.Background()
	const entries, readers = 20_000, 40
	id, err := seed.Volume{DB: inst.DB.Pool, Orgs: inst.App.Org, Campaigns: inst.App.Campaigns}.Ranked(ctx, 0, entries, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	boards := inst.App.Boards
	if err := boards.Rebuild(ctx, id); err != nil {
		t.Fatal(err)
	}
	var users []int64
	rows, _ := inst.DB.Pool.Query(ctx, `SELECT user_id FROM campaign_attempts WHERE campaign_id = $1 ORDER BY user_id LIMIT $2`, id, readers)
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	if rows.Err() != nil || len(users) != readers {
		t.Fatalf("readers: got %d (%v), want %d", len(users), rows.Err(), readers)
	}
	instances := []*leaderboard.Service{boards, peer(inst), peer(inst), peer(inst)}
	before := boards.Rebuilds()

	flush(t, inst, id)
	count := changes(t, inst, id)
	const bound = 5 * time.Second // RebuildWait (2 s) and slack for a busy 2-core machine
	start := time.Now()
	took, errs := readAtOnce(ctx, instances, id, users)
	all := time.Since(start)
	served := 0
	for i, err := range errs {
		if err != nil && kepu.ErrorCode(err) != kepu.EUNAVAILABLE {
			t.Errorf("reader %d: %v", i, err)
		}
		if err == nil {
			served++
		}
		if took[i] > bound {
			t.Errorf("reader %d waited %s, want at most %s", i, took[i], bound)
		}
	}
	waitFor(t, "the rebuilt board", func() bool { return markerExists(t, inst, id) })
	if n := count(); n != 1 {
		t.Errorf("rebuilds announced: got %d, want 1", n)
	}
	var ran int64
	for _, s := range instances {
		ran += s.Rebuilds()
	}
	if ran-before != 1 {
		t.Errorf("rebuilds run: got %d, want 1", ran-before)
	}
	n, err := boards.Redis.ZCard(ctx, boards.Key(id, leaderboard.Board{Kind: leaderboard.All})).Result()
	if err != nil || n != entries {
		t.Errorf("rebuilt board: got %d entries (%v), want %d", n, err, entries)
	}
	t.Logf("%d readers after a flush of %d entries: all answered in %s (%d with the board), one rebuild", readers, entries, all.Round(time.Millisecond), served)
}

// TestRebuildKeepsWritesDuringIt: a finish recorded while a rebuild runs
// (after its Postgres read, before its swap) is on the board after the
// swap, and recording it does not wait for the rebuild. (Before, the swap
// deleted it.)
func TestRebuildKeepsWritesDuringIt(t *testing.T) {
	inst, id, _ := oneEntry(t, "best", "lbearly", 500)
	ctx, boards := context.Background(), inst.App.Boards
	late, _ := inst.CreateUser("lblate", "participant")
	flush(t, inst, id)

	paused, release := pause(t, boards)
	go boards.Top(ctx, id, leaderboard.Board{Kind: leaderboard.All}, 10, 0) // starts the rebuild
	<-paused
	finish(t, inst, id, late, 900)
	recorded := make(chan error, 1)
	go func() { recorded <- boards.Record(ctx, id, late) }()
	select {
	case err := <-recorded:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Record waited for the rebuild")
	}
	release()
	waitFor(t, "the rebuild", func() bool { return markerExists(t, inst, id) && !lockHeld(t, inst, id) })
	// The swap releases the lock before the rebuild records the touched
	// users again: wait for that (bounded) rather than read in between.
	var top []leaderboard.Entry
	waitFor(t, "lblate back on the board", func() bool {
		var err error
		top, err = boards.Top(ctx, id, leaderboard.Board{Kind: leaderboard.All}, 10, 0)
		return err == nil && len(top) == 2
	})
	if len(top) != 2 || top[0].Nickname != "lblate" || top[0].Score != 900 {
		t.Errorf("board after the swap: got %+v, want lblate (900) first of 2", top)
	}
}

// TestRebuildServesLastKnownTop: while a rebuild runs longer than
// RebuildWait, an instance that read the board before answers from memory
// with "rebuilding":true, and one that never did answers 503 with
// Retry-After and a message saying to refresh in a few seconds (in the
// reader's language); once the rebuild is done both serve the new board.
func TestRebuildServesLastKnownTop(t *testing.T) {
	inst, id, _ := oneEntry(t, "best", "lbknown", 700)
	ctx, boards := context.Background(), inst.App.Boards
	boards.RebuildWait = 100 * time.Millisecond
	path := "/api/v1/campaigns/" + itoa(id) + "/leaderboard"
	var page struct {
		Top        []leaderboard.Entry `json:"top"`
		Rebuilding bool                `json:"rebuilding"`
	}
	r := inst.Client().Do("GET", path, nil)
	apptest.Expect(t, r, 200, "board before the flush")

	flush(t, inst, id)
	paused, release := pause(t, boards)
	go boards.Top(ctx, id, leaderboard.Board{Kind: leaderboard.All}, 10, 0)
	<-paused
	time.Sleep(60 * time.Millisecond) // let the 50 ms read cache expire, so the read goes to Redis

	t0 := time.Now()
	r = inst.Client().Do("GET", path, nil)
	apptest.Expect(t, r, 200, "board from memory while rebuilding")
	r.JSON(t, &page)
	if !page.Rebuilding || len(page.Top) != 1 || page.Top[0].Score != 700 {
		t.Errorf("while rebuilding: got %+v, want the last known top with rebuilding", page)
	}
	for _, lang := range []struct{ lang, want string }{{"zh-CN", "排行榜正在重建"}, {"en", "being rebuilt"}} {
		c := inst.Client()
		c.Lang = lang.lang
		r = c.Do("GET", path+"?period=today", nil) // never read: nothing in memory
		apptest.Expect(t, r, 503, "an unread board while rebuilding")
		if r.Header.Get("Retry-After") == "" || !contains(r.ErrorMessage(), lang.want) {
			t.Errorf("%s: got Retry-After %q, message %q; want a Retry-After and %q", lang.lang, r.Header.Get("Retry-After"), r.ErrorMessage(), lang.want)
		}
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("three reads while rebuilding took %s, want each within about RebuildWait", d)
	}
	release()
	waitFor(t, "the rebuilt board over HTTP", func() bool {
		r := inst.Client().Do("GET", path+"?period=today", nil)
		return r.Status == 200
	})
	r = inst.Client().Do("GET", path, nil)
	page.Rebuilding = false
	r.JSON(t, &page)
	if page.Rebuilding || len(page.Top) != 1 {
		t.Errorf("after the rebuild: got %+v, want the board without rebuilding", page)
	}
}

// TestRebuildLockOfDeadHolder: a lock left by a rebuilder that died is
// respected until it expires (readers meanwhile get ErrRebuilding, nobody
// rebuilds), then the next reader rebuilds, once.
func TestRebuildLockOfDeadHolder(t *testing.T) {
	inst, id, _ := oneEntry(t, "best", "lbdead", 300)
	ctx, boards := context.Background(), inst.App.Boards
	flush(t, inst, id)
	lock := boards.Keys.BoardRebuild(id, "lock")
	if err := boards.Redis.Set(ctx, lock, "1-dead", 1500*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	boards.RebuildWait = 50 * time.Millisecond
	before := boards.Rebuilds()
	board := leaderboard.Board{Kind: leaderboard.All}
	if _, err := boards.Top(ctx, id, board, 10, 0); !errors.Is(err, leaderboard.ErrRebuilding) {
		t.Fatalf("while the dead holder's lock lives: got %v, want ErrRebuilding", err)
	}
	if got, _ := boards.Redis.Get(ctx, lock).Result(); got != "1-dead" || markerExists(t, inst, id) {
		t.Fatalf("the dead holder's lock was not respected: lock %q, marker %v", got, markerExists(t, inst, id))
	}
	var top []leaderboard.Entry
	waitFor(t, "a rebuild after the lock expired", func() bool {
		var err error
		top, err = boards.Top(ctx, id, board, 10, 0)
		return err == nil
	})
	if len(top) != 1 || top[0].Score != 300 {
		t.Errorf("board: got %+v, want lbdead (300)", top)
	}
	if n := boards.Rebuilds() - before; n != 1 {
		t.Errorf("rebuilds: got %d, want 1", n)
	}
}

// TestRebuildFenced: a rebuilder that lost its lock (paused past its
// expiry) cannot swap its boards in: the board keeps what was written
// after its Postgres read.
func TestRebuildFenced(t *testing.T) {
	inst, id, u := oneEntry(t, "latest", "lbfence", 300)
	ctx, boards := context.Background(), inst.App.Boards
	stale := peer(inst)
	paused, release := pause(t, stale)
	done := make(chan error, 1)
	go func() { done <- stale.Rebuild(ctx, id) }()
	<-paused
	// The lock expires while the rebuilder is paused; a later finish is
	// recorded (the latest attempt counts: 800).
	if err := boards.Redis.Del(ctx, boards.Keys.BoardRebuild(id, "lock")).Err(); err != nil {
		t.Fatal(err)
	}
	finish(t, inst, id, u, 800)
	if err := boards.Record(ctx, id, u); err != nil {
		t.Fatal(err)
	}
	release()
	if err := <-done; err == nil {
		t.Error("the rebuild that lost its lock: got no error, want one")
	}
	top, err := boards.Top(ctx, id, leaderboard.Board{Kind: leaderboard.All}, 10, 0)
	if err != nil || len(top) != 1 || top[0].Score != 800 {
		t.Errorf("board: got %+v (%v), want lbfence with 800", top, err)
	}
}

// readAtOnce reads the campaign's overall board once per user, all at
// once, spread over the instances: every other reader as the HTTP read
// (Page, as that user), the others as a websocket watcher's first push
// (Top). It returns how long each waited and what each got.
func readAtOnce(ctx context.Context, instances []*leaderboard.Service, campaignID int64, users []int64) ([]time.Duration, []error) {
	var wg sync.WaitGroup
	took := make([]time.Duration, len(users))
	errs := make([]error, len(users))
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			s, all := instances[i%len(instances)], leaderboard.Board{Kind: leaderboard.All}
			if i%2 == 0 {
				_, errs[i] = s.Page(ctx, campaignID, all, 20, users[i])
			} else {
				_, errs[i] = s.Top(ctx, campaignID, all, 20, users[i])
			}
			took[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	return took, errs
}

// pause makes the first rebuild of s stop after its Postgres read until
// release is called (at the end of the test at the latest).
func pause(t *testing.T, s *leaderboard.Service) (paused <-chan struct{}, release func()) {
	p, r := make(chan struct{}), make(chan struct{})
	var first, released sync.Once
	leaderboard.SetAfterRead(s, func() { first.Do(func() { close(p); <-r }) })
	release = func() { released.Do(func() { close(r) }) }
	t.Cleanup(release)
	return p, release
}

// recorded records the user's standing and waits until the rebuild it
// started (the campaign's first write finds no boards) is over.
func recorded(t *testing.T, inst *apptest.Instance, campaignID, userID int64) {
	t.Helper()
	if err := inst.App.Boards.Record(context.Background(), campaignID, userID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first build", func() bool { return markerExists(t, inst, campaignID) && !lockHeld(t, inst, campaignID) })
}

func lockHeld(t *testing.T, inst *apptest.Instance, campaignID int64) bool {
	t.Helper()
	b := inst.App.Boards
	n, err := b.Redis.Exists(context.Background(), b.Keys.BoardRebuild(campaignID, "lock")).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// newCampaign makes a published campaign that started 30 minutes ago
// with the given counting rule.
func newCampaign(t *testing.T, inst *apptest.Instance, counts string) int64 {
	t.Helper()
	start := time.Now().Add(-30 * time.Minute).UTC().Truncate(time.Minute)
	var id int64
	if err := inst.DB.Pool.QueryRow(context.Background(), `INSERT INTO campaigns (title, region_id, status, starts_at, ends_at, settings)
		VALUES ($1, $2, 'published', $3, $4, $5) RETURNING id`, "重建"+counts, inst.Seed.CityID, start,
		start.Add(48*time.Hour), map[string]any{"counts": counts}).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// oneEntry starts an instance with a campaign (counting rule counts) whose
// boards are built and hold one user's finish.
func oneEntry(t *testing.T, counts, nickname string, score int) (inst *apptest.Instance, campaignID, userID int64) {
	inst = apptest.Start(t)
	campaignID = newCampaign(t, inst, counts)
	userID, _ = inst.CreateUser(nickname, "participant")
	finish(t, inst, campaignID, userID, score)
	recorded(t, inst, campaignID, userID)
	return inst, campaignID, userID
}

// finish stores a finished attempt of the user, finished now.
func finish(t *testing.T, inst *apptest.Instance, campaignID, userID int64, score int) {
	t.Helper()
	if _, err := inst.DB.Pool.Exec(context.Background(), `INSERT INTO campaign_attempts (campaign_id, user_id, started_at, finished_at, score,
		max_score, passed, questions, answered, time_ms, region_id, school_id, class_id)
		SELECT $1, $2, now() - interval '1 minute', now(), $3, 1000, true, 10, 10, 60000, region_id, school_id, class_id FROM users WHERE id = $2`,
		campaignID, userID, score); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
