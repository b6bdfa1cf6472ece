// Package lottery is Kepu's verifiable prize draw, pure and without I/O so
// that the server, `kepu lottery verify` and the public verification page
// (web/static/js/lottery_verify.js, the same steps in the browser) compute
// the same winners from the same published data.
//
// The algorithm (AlgorithmV1, docs/campaigns.md "抽奖 / Lottery"):
//
//  1. Seed: 32 random bytes, secret until the campaign closes. The
//     commitment, published from the campaign's publication on, is the
//     lowercase hex SHA-256 of the seed.
//  2. Entries: the eligible entries in the published order. Their canonical
//     serialization is, per entry, id, person, division and nickname joined
//     by a tab and ended by a newline (UTF-8; no field may hold a tab or a
//     newline). EntriesHash is the SHA-256 of it.
//  3. Prizes in their published order (index from 0). For prize i, the pool
//     is the entries of the prize's division whose person has won no
//     lottery prize yet, in entry order. Each pick takes the next block
//     B = HMAC-SHA256(key = seed, message = EntriesHash (32 bytes) ||
//     uint32be(i) || uint32be(counter)), counter from 0 per prize, +1 per
//     block; x = the first 8 bytes of B as a big-endian uint64. With n
//     entries in the pool, x is rejected when x >= 2^64 - (2^64 mod n)
//     (no modulo bias; the next block is taken), else the winner is
//     pool[x mod n]; every entry of the winner's person then leaves the
//     pool. A prize takes count winners or the whole pool if smaller.
//
// One person wins at most one lottery prize of a campaign; an entry id is
// unique.
package lottery

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
)

// AlgorithmV1 names the algorithm of this package in published data.
const AlgorithmV1 = "kepu-lottery-v1"

// SeedSize is the length of a seed in bytes.
const SeedSize = 32

// Entry is one published eligible entry.
type Entry struct {
	ID       string `json:"id"`       // e.g. "A1234": the qualifying attempt
	Person   string `json:"person"`   // a pseudonym of the person, the same for all their entries
	Division string `json:"division"` // the division key, "" for a campaign without divisions
	Nickname string `json:"nickname"` // masked
}

// Prize is one published lottery prize.
type Prize struct {
	Name     string `json:"name"`
	Division string `json:"division"`
	Count    int    `json:"count"`
}

// Winner is one drawn entry of a prize (its index in the prizes).
type Winner struct {
	Prize int    `json:"prize"`
	Entry string `json:"entry"`
}

// Commitment is the lowercase hex SHA-256 of seed.
func Commitment(seed []byte) string {
	h := sha256.Sum256(seed)
	return hex.EncodeToString(h[:])
}

// Canonical is the canonical serialization of entries (step 2). It fails
// on a field holding a tab or a newline.
func Canonical(entries []Entry) ([]byte, error) {
	var b bytes.Buffer
	for i, e := range entries {
		for _, f := range []string{e.ID, e.Person, e.Division, e.Nickname} {
			if strings.ContainsAny(f, "\t\n") {
				return nil, fmt.Errorf("lottery: entry %d: a field holds a tab or a newline", i)
			}
		}
		b.WriteString(e.ID + "\t" + e.Person + "\t" + e.Division + "\t" + e.Nickname + "\n")
	}
	return b.Bytes(), nil
}

// EntriesHash is the SHA-256 of the canonical serialization of entries.
func EntriesHash(entries []Entry) ([]byte, error) {
	c, err := Canonical(entries)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(c)
	return h[:], nil
}

// Draw returns the winners of every prize, in prize order then draw order
// (step 3). It fails on a seed of the wrong size, a duplicate entry id or
// a bad field.
func Draw(seed []byte, entries []Entry, prizes []Prize) ([]Winner, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("lottery: the seed has %d bytes, want %d", len(seed), SeedSize)
	}
	ids := make(map[string]bool, len(entries))
	for _, e := range entries {
		if e.ID == "" || ids[e.ID] {
			return nil, fmt.Errorf("lottery: entry id %q is empty or repeated", e.ID)
		}
		ids[e.ID] = true
	}
	eh, err := EntriesHash(entries)
	if err != nil {
		return nil, err
	}
	won := map[string]bool{} // persons
	winners := []Winner{}
	for i, p := range prizes {
		var pool []Entry
		for _, e := range entries {
			if e.Division == p.Division && !won[e.Person] {
				pool = append(pool, e)
			}
		}
		var counter uint32
		for k := 0; k < p.Count && len(pool) > 0; k++ {
			n := uint64(len(pool))
			limit := math.MaxUint64 - (math.MaxUint64%n+1)%n // 2^64 - (2^64 mod n) - 1: the largest accepted x
			var x uint64
			for {
				x = block(seed, eh, uint32(i), counter)
				counter++
				if x <= limit {
					break
				}
			}
			w := pool[x%n]
			winners = append(winners, Winner{Prize: i, Entry: w.ID})
			won[w.Person] = true
			kept := pool[:0]
			for _, e := range pool {
				if e.Person != w.Person {
					kept = append(kept, e)
				}
			}
			pool = kept
		}
	}
	return winners, nil
}

// block is the first 8 bytes of HMAC-SHA256(seed, entriesHash || prize || counter).
func block(seed, entriesHash []byte, prize, counter uint32) uint64 {
	m := hmac.New(sha256.New, seed)
	m.Write(entriesHash)
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], prize)
	binary.BigEndian.PutUint32(b[4:], counter)
	m.Write(b[:])
	return binary.BigEndian.Uint64(m.Sum(nil)[:8])
}

// Published is the document a closed campaign's lottery publishes
// (GET /api/v1/campaigns/{id}/lottery): everything needed to recompute
// the winners. Before the draw Seed, EntriesHash and Winners are empty.
type Published struct {
	Algorithm   string   `json:"algorithm"`
	CampaignID  int64    `json:"campaign_id"`
	Title       string   `json:"title"`
	Commitment  string   `json:"commitment"`
	CommittedAt string   `json:"committed_at"` // RFC 3339
	Seed        string   `json:"seed"`         // hex, "" until revealed
	DrawnAt     string   `json:"drawn_at"`     // RFC 3339, "" until drawn
	EntriesHash string   `json:"entries_hash"` // hex
	Prizes      []Prize  `json:"prizes"`
	Entries     []Entry  `json:"entries"`
	Winners     []Winner `json:"winners"`
}

// Verification errors (Verify wraps them).
var (
	ErrNotDrawn      = errors.New("lottery: not drawn yet (no seed published)")
	ErrCommitment    = errors.New("lottery: the seed does not match the commitment")
	ErrEntriesHash   = errors.New("lottery: the entries do not match the published entries hash")
	ErrWinners       = errors.New("lottery: the winners differ from those recomputed")
	ErrAlgorithm     = errors.New("lottery: unknown algorithm")
	ErrOldCommitment = errors.New("lottery: the commitment differs from the one published before the close")
)

// Verify recomputes everything from the published document: the seed
// against the commitment (and against want, the commitment the verifier
// saw before the close, when not ""), the entries' hash, and the winners.
// It returns the recomputed winners and nil when all match.
func Verify(p Published, want string) ([]Winner, error) {
	if p.Algorithm != AlgorithmV1 {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, p.Algorithm)
	}
	if want != "" && !strings.EqualFold(want, p.Commitment) {
		return nil, ErrOldCommitment
	}
	if p.Seed == "" {
		return nil, ErrNotDrawn
	}
	seed, err := hex.DecodeString(p.Seed)
	if err != nil || len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: the seed is not %d bytes of hex", ErrCommitment, SeedSize)
	}
	if Commitment(seed) != strings.ToLower(p.Commitment) {
		return nil, ErrCommitment
	}
	eh, err := EntriesHash(p.Entries)
	if err != nil {
		return nil, err
	}
	if hex.EncodeToString(eh) != strings.ToLower(p.EntriesHash) {
		return nil, ErrEntriesHash
	}
	got, err := Draw(seed, p.Entries, p.Prizes)
	if err != nil {
		return nil, err
	}
	if len(got) != len(p.Winners) {
		return got, fmt.Errorf("%w: %d recomputed, %d published", ErrWinners, len(got), len(p.Winners))
	}
	for i := range got {
		if got[i] != p.Winners[i] {
			return got, fmt.Errorf("%w: winner %d is %s of prize %d, published %s of prize %d", ErrWinners, i+1,
				got[i].Entry, got[i].Prize, p.Winners[i].Entry, p.Winners[i].Prize)
		}
	}
	return got, nil
}
