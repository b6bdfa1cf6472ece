package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/kepu/kepu/internal/lottery"
)

// maxPublished bounds a published lottery document read by verify (64 MiB:
// about a million entries).
const maxPublished = 64 << 20

// runLottery is `kepu lottery verify --file F | --url U [--commitment HEX]`:
// it recomputes a campaign's draw from its published data only (no
// database, no configuration) and fails (exit 1) on any mismatch.
func runLottery(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"want: kepu lottery verify --file F | --url U"}
	}
	fs := flag.NewFlagSet("lottery verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("file", "", "the published document (JSON), as downloaded from the lottery page")
	url := fs.String("url", "", "or its address: https://…/api/v1/campaigns/ID/lottery")
	want := fs.String("commitment", "", "the commitment you saw before the close (optional): the document's must equal it")
	if err := fs.Parse(args[1:]); err != nil || (*file == "") == (*url == "") || fs.NArg() > 0 {
		return usageError{"want: kepu lottery verify --file F | --url U [--commitment HEX]"}
	}
	var raw []byte
	var err error
	if *file != "" {
		raw, err = readLimited(os.Open(*file))
	} else {
		raw, err = fetch(ctx, *url)
	}
	if err != nil {
		return err
	}
	var p lottery.Published
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("lottery: not a published lottery: %w", err)
	}
	winners, err := lottery.Verify(p, *want)
	if err != nil {
		fmt.Fprintf(stdout, "MISMATCH: %v\n", err)
		return err
	}
	fmt.Fprintf(stdout, "OK: campaign %d %q\ncommitment %s = SHA-256(seed %s)\nentries %d, hash %s\n", p.CampaignID, p.Title,
		p.Commitment, p.Seed, len(p.Entries), p.EntriesHash)
	nick := map[string]string{}
	for _, e := range p.Entries {
		nick[e.ID] = e.Nickname
	}
	for _, w := range winners {
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", p.Prizes[w.Prize].Name, w.Entry, nick[w.Entry])
	}
	fmt.Fprintf(stdout, "%d winners recomputed, all as published\n", len(winners))
	return nil
}

func readLimited(f *os.File, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAtMost(f)
}

func readAtMost(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPublished+1))
	if err == nil && len(b) > maxPublished {
		err = errors.New("lottery: the document is larger than 64 MiB")
	}
	return b, err
}

func fetch(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("lottery: %s answered %s", url, res.Status)
	}
	return readAtMost(res.Body)
}
