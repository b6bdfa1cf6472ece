package main

import (
	"context"
	"flag"
	"io"

	"github.com/kepu/kepu/internal/lottery"
)

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
	var p lottery.Published
	var err error
	if *file != "" {
		p, err = lottery.Load(*file)
	} else {
		p, err = lottery.Fetch(ctx, *url)
	}
	if err != nil {
		return err
	}
	return lottery.Report(stdout, p, *want)
}
