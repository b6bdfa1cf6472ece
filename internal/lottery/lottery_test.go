package lottery

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
)

func sample(n int) []Entry {
	var es []Entry
	for i := range n {
		div := "adult"
		if i%3 == 0 {
			div = "pupil"
		}
		// Every person has two entries (one per qualifying attempt).
		es = append(es, Entry{ID: fmt.Sprintf("A%d", 100+i), Person: fmt.Sprintf("p%02d", i/2), Division: div, Nickname: "张**"})
	}
	return es
}

func seedOf(b byte) []byte { return bytes.Repeat([]byte{b}, SeedSize) }

func published(t *testing.T, seed []byte, es []Entry, ps []Prize) Published {
	t.Helper()
	w, err := Draw(seed, es, ps)
	if err != nil {
		t.Fatal(err)
	}
	eh, _ := EntriesHash(es)
	return Published{Algorithm: AlgorithmV1, Commitment: Commitment(seed), Seed: hex.EncodeToString(seed),
		EntriesHash: hex.EncodeToString(eh), Prizes: ps, Entries: es, Winners: w}
}

func TestDrawIsDeterministicAndOnePrizePerPerson(t *testing.T) {
	es := sample(40)
	ps := []Prize{{Name: "一等奖", Division: "adult", Count: 2}, {Name: "二等奖", Division: "adult", Count: 5},
		{Name: "少儿奖", Division: "pupil", Count: 3}, {Name: "空奖", Division: "none", Count: 3}}
	a, err := Draw(seedOf(1), es, ps)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Draw(seedOf(1), es, ps)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same inputs, different winners: %v and %v", a, b)
	}
	if len(a) != 10 {
		t.Fatalf("got %d winners, want 2+5+3 (the empty division draws none)", len(a))
	}
	byID := map[string]Entry{}
	for _, e := range es {
		byID[e.ID] = e
	}
	persons := map[string]bool{}
	for _, w := range a {
		e := byID[w.Entry]
		if persons[e.Person] {
			t.Errorf("person %s won twice", e.Person)
		}
		persons[e.Person] = true
		if e.Division != ps[w.Prize].Division {
			t.Errorf("entry %s of division %s won prize %d of %s", e.ID, e.Division, w.Prize, ps[w.Prize].Division)
		}
	}
	c, _ := Draw(seedOf(2), es, ps)
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Errorf("another seed gave the same winners %v", a)
	}
	// A prize larger than its pool takes the whole pool.
	all, _ := Draw(seedOf(3), es[:4], []Prize{{Name: "x", Division: "adult", Count: 100}})
	if len(all) != 2 { // entries 1, 2 (persons p00, p01) are adults
		t.Errorf("got %v, want the two adult persons", all)
	}
}

// TestDrawVector pins the algorithm: the browser's verifier and any
// independent reimplementation must give exactly these winners.
func TestDrawVector(t *testing.T) {
	es := []Entry{{"A1", "p1", "", "张**"}, {"A2", "p2", "", "L**"}, {"A3", "p1", "", "张**"}, {"A4", "p3", "", "王**"}, {"A5", "p4", "", "赵**"}}
	seed, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	w, err := Draw(seed, es, []Prize{{Name: "奖", Count: 2}, {Name: "奖2", Count: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := Commitment(seed); got != "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd" {
		t.Errorf("commitment %s", got)
	}
	if got, want := fmt.Sprint(w), vector; got != want {
		t.Errorf("winners %s, want %s", got, want)
	}
}

const vector = "[{0 A1} {0 A4} {1 A2}]" // also computed by an independent Python script (docs/campaigns.md)

func TestVerifyDetectsTampering(t *testing.T) {
	es := sample(30)
	ps := []Prize{{Name: "一等奖", Division: "adult", Count: 3}, {Name: "少儿奖", Division: "pupil", Count: 2}}
	good := published(t, seedOf(7), es, ps)
	if _, err := Verify(good, good.Commitment); err != nil {
		t.Fatalf("untouched document: %v", err)
	}
	cases := []struct {
		name   string
		change func(p *Published)
		want   error
	}{
		{"a changed seed", func(p *Published) { p.Seed = hex.EncodeToString(seedOf(8)) }, ErrCommitment},
		{"a changed seed with its own commitment", func(p *Published) {
			*p = published(t, seedOf(8), es, ps) // a fresh draw: consistent, but not what was committed
		}, ErrOldCommitment},
		{"an entry added", func(p *Published) { p.Entries = append(p.Entries, Entry{ID: "A999", Person: "zz", Division: "adult"}) }, ErrEntriesHash},
		{"a winner replaced", func(p *Published) {
			p.Winners = append([]Winner(nil), p.Winners...)
			p.Winners[0].Entry = "A101"
			if good.Winners[0].Entry == "A101" {
				p.Winners[0].Entry = "A102"
			}
		}, ErrWinners},
		{"no seed yet", func(p *Published) { p.Seed = "" }, ErrNotDrawn},
		{"unknown algorithm", func(p *Published) { p.Algorithm = "x" }, ErrAlgorithm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := good
			c.change(&p)
			if _, err := Verify(p, good.Commitment); !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestCanonicalRefusesSeparators(t *testing.T) {
	if _, err := Canonical([]Entry{{ID: "A1", Nickname: "a\tb"}}); err == nil {
		t.Error("a tab in a nickname: got no error")
	}
	if _, err := Draw([]byte("short"), nil, nil); err == nil {
		t.Error("a short seed: got no error")
	}
	if _, err := Draw(seedOf(1), []Entry{{ID: "A1"}, {ID: "A1"}}, nil); err == nil {
		t.Error("a repeated entry id: got no error")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("A1", "p1", "", "张**", byte(1))
	f.Fuzz(func(t *testing.T, id, person, div, nick string, s byte) {
		es := []Entry{{ID: id, Person: person, Division: div, Nickname: nick}, {ID: id + "x", Person: person + "y", Division: div}}
		w, err := Draw(seedOf(s), es, []Prize{{Division: div, Count: 1}})
		if err != nil {
			return
		}
		if len(w) != 1 {
			t.Fatalf("got %d winners, want 1", len(w))
		}
	})
}
