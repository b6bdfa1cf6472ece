package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/kepu/kepu/internal/kepu"
)

// Argon2id parameters: OWASP's recommended minimum (m=19456 KiB, t=2, p=1).
const (
	argonMemory  = 19456
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Hasher hashes and verifies passwords with argon2id, at most n at a time:
// each hash takes 19 MiB and tens of milliseconds of one core, so an
// unbounded burst of logins could exhaust memory, and more hashes than
// cores only make every one of them slower.
//
// Hash waits for a slot as long as its context allows (account creation,
// password changes). A login takes its slot with Acquire, which waits at
// most Wait and then answers ErrBusy, so that a login beyond capacity is
// told to come back instead of queueing for many seconds.
type Hasher struct {
	sem  chan struct{}
	Wait time.Duration // the longest Acquire waits for a slot; set before use
	// Memory (KiB) and Time (passes) are the argon2id cost of new hashes;
	// NewHasher sets OWASP's minimum (19456 KiB, 2). Verify reads the cost
	// from the hash itself, so changing them leaves stored hashes valid.
	// Only tests lower them (internal/apptest): their thousands of logins
	// spent most of the test servers' CPU hashing and collecting the 19 MiB
	// each hash allocates.
	Memory, Time uint32
	waiting      atomic.Int64 // Acquire calls waiting for a slot
	avg          atomic.Int64 // moving average of one hash, in nanoseconds
}

// DefaultHashWait is Hasher.Wait unless configured (KEPU_HASH_WAIT).
const DefaultHashWait = 2 * time.Second

// NewHasher returns a Hasher that runs at most n hashes concurrently.
func NewHasher(n int) *Hasher {
	if n < 1 {
		n = 1
	}
	h := &Hasher{sem: make(chan struct{}, n), Wait: DefaultHashWait, Memory: argonMemory, Time: argonTime}
	h.avg.Store(int64(50 * time.Millisecond))
	return h
}

// ErrBusy is Acquire's answer when no slot frees within Hasher.Wait: 503
// with Retry-After (Params "seconds").
var ErrBusy = &kepu.Error{Code: kepu.EUNAVAILABLE, Key: "error.login_busy"}

// Slot is one hash slot taken by Acquire; Release gives it back.
type Slot struct {
	h    *Hasher
	once sync.Once
}

// Release gives the slot back; later calls do nothing.
func (s *Slot) Release() { s.once.Do(func() { <-s.h.sem }) }

// Acquire takes a slot, waiting at most h.Wait (and no longer than ctx
// allows). When none frees in time it returns ErrBusy with "seconds": an
// estimate of when the queue ahead will have drained (1 to 30).
func (h *Hasher) Acquire(ctx context.Context) (*Slot, error) {
	select {
	case h.sem <- struct{}{}:
		return &Slot{h: h}, nil
	default:
	}
	n := h.waiting.Add(1)
	defer h.waiting.Add(-1)
	t := time.NewTimer(h.Wait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return &Slot{h: h}, nil
	case <-t.C:
		return nil, ErrBusy.With("seconds", h.retryAfter(n))
	case <-ctx.Done():
		return nil, fmt.Errorf("account: waiting to hash: %w", ctx.Err())
	}
}

// retryAfter estimates, in whole seconds from 1 to 30, how long the queue
// of waiting hashes takes to drain at the measured speed.
func (h *Hasher) retryAfter(waiting int64) int {
	d := time.Duration(h.avg.Load() * waiting / int64(cap(h.sem)))
	return min(max(int((d+time.Second-1)/time.Second), 1), 30)
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("account: waiting to hash: %w", ctx.Err())
	}
}

// idKey is argon2.IDKey, timed for retryAfter's moving average.
func (h *Hasher) idKey(password, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	start := time.Now()
	key := argon2.IDKey(password, salt, t, m, p, n)
	d := int64(time.Since(start))
	h.avg.Store((h.avg.Load()*7 + d) / 8)
	return key
}

// Hash returns the PHC-format argon2id hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.sem }()
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("account: salt: %w", err)
	}
	key := h.idKey([]byte(password), salt, h.Time, h.Memory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.Memory, h.Time, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC-format hash. An empty or
// malformed hash never matches, but costs the same time as a real check so
// that response times do not reveal which accounts exist.
func (h *Hasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.sem }()
	return h.verify(hash, password), nil
}

// VerifyIn is Verify in a slot the caller took with Acquire (and releases).
func (h *Hasher) VerifyIn(_ *Slot, hash, password string) bool { return h.verify(hash, password) }

func (h *Hasher) verify(hash, password string) bool {
	var m, t uint32
	var p uint8
	var version int
	parts := strings.Split(hash, "$")
	ok := len(parts) == 6 && parts[1] == "argon2id"
	var salt, want []byte
	if ok {
		_, err1 := fmt.Sscanf(parts[2], "v=%d", &version)
		_, err2 := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p)
		var err3, err4 error
		salt, err3 = base64.RawStdEncoding.DecodeString(parts[4])
		want, err4 = base64.RawStdEncoding.DecodeString(parts[5])
		ok = err1 == nil && err2 == nil && err3 == nil && err4 == nil && len(want) > 0 &&
			m > 0 && m <= 1<<20 && t > 0 && t <= 10 && p > 0
	}
	if !ok {
		h.idKey([]byte(password), make([]byte, argonSaltLen), h.Time, h.Memory, argonThreads, argonKeyLen)
		return false
	}
	got := h.idKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// RandomPassword returns a password that is easy to type from a printed card:
// lowercase letters and digits without look-alikes (0/o, 1/l/i).
func RandomPassword(n int) string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
