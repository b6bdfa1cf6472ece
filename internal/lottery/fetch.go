package lottery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// MaxPublished bounds a published document read by Load and Fetch (64 MiB:
// about a million entries).
const MaxPublished = 64 << 20

// Parse reads a published document (the JSON of GET
// /api/v1/campaigns/{id}/lottery or its download; other fields are ignored).
func Parse(r io.Reader) (Published, error) {
	var p Published
	b, err := io.ReadAll(io.LimitReader(r, MaxPublished+1))
	if err != nil {
		return p, fmt.Errorf("lottery: read: %w", err)
	}
	if len(b) > MaxPublished {
		return p, errors.New("lottery: the document is larger than 64 MiB")
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("lottery: not a published lottery: %w", err)
	}
	return p, nil
}

// Load reads a published document from a file.
func Load(path string) (Published, error) {
	f, err := os.Open(path)
	if err != nil {
		return Published{}, err
	}
	defer f.Close()
	return Parse(f)
}

// Fetch downloads a published document (within a minute).
func Fetch(ctx context.Context, url string) (Published, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Published{}, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return Published{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return Published{}, fmt.Errorf("lottery: %s answered %s", url, res.Status)
	}
	return Parse(res.Body)
}

// Report verifies p (Verify, want as there) and writes what it found to w:
// the recomputed winners when everything matches, else the mismatch, which
// it also returns.
func Report(w io.Writer, p Published, want string) error {
	winners, err := Verify(p, want)
	if err != nil {
		fmt.Fprintf(w, "MISMATCH: %v\n", err)
		return err
	}
	fmt.Fprintf(w, "OK: campaign %d %q\ncommitment %s = SHA-256(seed %s)\nentries %d, hash %s\n", p.CampaignID, p.Title,
		p.Commitment, p.Seed, len(p.Entries), p.EntriesHash)
	nick := map[string]string{}
	for _, e := range p.Entries {
		nick[e.ID] = e.Nickname
	}
	for _, x := range winners {
		fmt.Fprintf(w, "%s\t%s\t%s\n", p.Prizes[x.Prize].Name, x.Entry, nick[x.Entry])
	}
	fmt.Fprintf(w, "%d winners recomputed, all as published\n", len(winners))
	return nil
}
