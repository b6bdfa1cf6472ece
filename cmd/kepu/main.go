// Command kepu is the Kepu server and its administration tool.
//
//	kepu serve                  migrate, then serve HTTP on KEPU_ADDR
//	kepu migrate                apply pending database migrations
//	kepu seed [flags]           load the demo data (idempotent)
//	kepu user create [flags]    create or reset an account
//	kepu leaderboard rebuild [campaign-id]  rebuild campaign leaderboards from Postgres
//	kepu calibrate [--min-responses N]      fit the items' response model to the answers
//	kepu lottery verify --file F | --url U  recompute a campaign's lottery from its published data
//
// Configuration comes from KEPU_* environment variables (see README.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/app"
	"github.com/kepu/kepu/internal/calibrate"
	"github.com/kepu/kepu/internal/config"
	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/seed"
)

const usage = `kepu — 科普答题 science-literacy quiz platform

Usage:
  kepu serve                       migrate the database, then serve on KEPU_ADDR
  kepu migrate                     apply pending database migrations
  kepu seed [--quiet]              load demo regions, schools, accounts, question bank, campaign
  kepu seed --participants 100000 --attempts 420000 [--years 5]
                                   also generate a year of campaign volume (dashboards benchmark)
  kepu seed --ranked 1000000 [--ranked-campaign ID]
                                   also add participants with a finished attempt in one campaign (leaderboard volume)
  kepu user create --username U --role R [--password P] [--nickname N] [--region CODE] [--scope CODE]
                                   create an account (or reset it); prints the password when generated
  kepu leaderboard rebuild [campaign-id]
                                   rebuild one campaign's leaderboards in Redis from Postgres (all campaigns without an id)
  kepu calibrate [--min-responses 200]
                                   fit the 2PL item response model to the campaign answers and store a new
                                   calibration run (also done hourly by serve, KEPU_CALIBRATE_EVERY)
  kepu lottery verify --file F | --url U [--commitment HEX]
                                   recompute a closed campaign's lottery from its published data only (the JSON of
                                   /api/v1/campaigns/ID/lottery); exits 1 on any mismatch (no database needed)

Roles: participant, teacher, organizer, admin. Configuration: KEPU_* environment variables (see README.md).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kepu:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + "\n\n" + usage }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"missing command"}
	}
	cmd, args := args[0], args[1:]
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if cmd == "lottery" { // needs no configuration: anyone may verify
		return runLottery(ctx, args, stdout)
	}
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg.LogLevel)
	switch cmd {
	case "serve":
		a, err := app.Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer a.Close()
		if err := postgres.Migrate(ctx, a.DB, log); err != nil {
			return err
		}
		log.Info("serving", "addr", cfg.Addr, "url", cfg.BaseURL)
		return a.Serve(ctx, nil)
	case "migrate":
		a, err := app.Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer a.Close()
		return postgres.Migrate(ctx, a.DB, log)
	case "seed":
		return runSeed(ctx, cfg, args, stdout)
	case "user":
		if len(args) == 0 || args[0] != "create" {
			return usageError{"want: kepu user create …"}
		}
		return runUserCreate(ctx, cfg, args[1:], stdout)
	case "leaderboard":
		return runLeaderboard(ctx, cfg, args, stdout)
	case "calibrate":
		return runCalibrate(ctx, cfg, args, stdout)
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

func runSeed(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	quiet := fs.Bool("quiet", false, "do not print the demo accounts")
	participants := fs.Int("participants", 0, "also generate this many participants for dashboard volume (with --attempts)")
	attempts := fs.Int("attempts", 0, "attempts to generate over a year (with --participants)")
	years := fs.Int("years", 1, "with --participants: years of annual literacy assessments (1–10), for the five-year report")
	ranked := fs.Int("ranked", 0, "also add this many participants with a finished attempt in one campaign (leaderboard volume)")
	rankedCampaign := fs.Int64("ranked-campaign", 0, "the campaign for --ranked (0: create one)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	a, err := app.Open(ctx, cfg, app.NewLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer a.Close()
	if err := postgres.Migrate(ctx, a.DB, nil); err != nil {
		return err
	}
	res, err := seed.Foundation(ctx, a.DB, a.Accounts, a.Org)
	if err != nil {
		return err
	}
	bankRes, err := seed.Bank(ctx, a.DB, res.CityID)
	if err != nil {
		return err
	}
	demoID, _, err := a.Campaigns.SeedDemo(ctx, res.CityID)
	if err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(stdout, "Demo campaign: %s/campaigns/%d\n", cfg.BaseURL, demoID)
		fmt.Fprintf(stdout, "Demo data loaded: %d districts, %d schools, %d classes.\n",
			len(res.DistrictIDs), len(res.SchoolIDs), len(res.ClassIDs))
		fmt.Fprintf(stdout, "Question bank: %d added, %d updated, %d unchanged.\n",
			bankRes.Inserted, bankRes.Updated, bankRes.Unchanged)
		fmt.Fprintln(stdout, "Demo accounts (passwords are reset on every seed):")
		for _, d := range res.Accounts {
			fmt.Fprintf(stdout, "  %-12s %-16s password: %s\n", d.Role, d.Username, d.Password)
		}
	}
	volume := seed.Volume{DB: a.DB, Orgs: a.Org, Campaigns: a.Campaigns}
	if *participants > 0 || *attempts > 0 {
		if *years < 1 || *years > 10 {
			return usageError{"--years must be 1–10"}
		}
		if err := volume.Load(ctx, *participants, *attempts, *years, stdout); err != nil {
			return err
		}
	}
	if *ranked > 0 {
		if _, err := volume.Ranked(ctx, *rankedCampaign, *ranked, stdout); err != nil {
			return err
		}
	}
	return nil
}

// runLeaderboard runs `kepu leaderboard rebuild [campaign-id]`.
func runLeaderboard(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "rebuild" || len(args) > 2 {
		return usageError{"want: kepu leaderboard rebuild [campaign-id]"}
	}
	var id int64
	if len(args) == 2 {
		n, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || n <= 0 {
			return usageError{fmt.Sprintf("bad campaign id %q", args[1])}
		}
		id = n
	}
	a, err := app.Open(ctx, cfg, app.NewLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer a.Close()
	if id != 0 {
		if err := a.Boards.Rebuild(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Rebuilt the leaderboards of campaign %d.\n", id)
		return nil
	}
	n, err := a.Boards.RebuildAll(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Rebuilt the leaderboards of %d campaigns.\n", n)
	return nil
}

// runCalibrate runs `kepu calibrate [--min-responses N]`.
func runCalibrate(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	minResponses := fs.Int("min-responses", calibrate.DefaultMinResponses, "calibrate only questions with at least this many answers (50–1000000)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 || *minResponses < 50 || *minResponses > 1_000_000 {
		return usageError{"want: kepu calibrate [--min-responses N], N from 50 to 1000000"}
	}
	a, err := app.Open(ctx, cfg, app.NewLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer a.Close()
	a.Calibration.MinResponses = *minResponses
	run, err := a.Calibration.Calibrate(ctx, "cli")
	if errors.Is(err, calibrate.ErrNoItems) {
		fmt.Fprintf(stdout, "No question has %d answers yet; nothing calibrated.\n", *minResponses)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Calibration run %d: %d questions from %d answers of %d people, %d EM iterations (converged: %v).\n",
		run.ID, run.Items, run.Responses, run.Persons, run.Iterations, run.Converged)
	flagged, err := a.Calibration.Flagged(ctx, run.ID)
	if err != nil {
		return err
	}
	if len(flagged) > 0 {
		fmt.Fprintf(stdout, "%d question(s) to review (misfit, discrimination near zero or negative):\n", len(flagged))
		for _, p := range flagged {
			fmt.Fprintf(stdout, "  question %d (version %d): a=%.2f b=%.2f RMSEA=%.3f %v\n", p.QuestionID, p.VersionID, p.A, p.B, p.Fit.RMSEA, p.Flags())
		}
	}
	return nil
}

func runUserCreate(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	username := fs.String("username", "", "login name (required)")
	role := fs.String("role", "participant", "participant, teacher, organizer or admin")
	password := fs.String("password", "", "password; generated and printed when empty")
	nickname := fs.String("nickname", "", "display name (default: the username)")
	region := fs.String("region", "430702", "district code of the user's profile")
	scope := fs.String("scope", "", "organizers: code of the region subtree they manage (default: the city)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *username == "" {
		return usageError{"--username is required"}
	}
	a, err := app.Open(ctx, cfg, app.NewLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer a.Close()
	regionID, err := regionByCode(ctx, a, *region)
	if err != nil {
		return err
	}
	var scopeID int64
	if *role == "organizer" {
		code := *scope
		if code == "" {
			code = seed.CityCode
		}
		if scopeID, err = regionByCode(ctx, a, code); err != nil {
			return err
		}
	}
	pw := *password
	generated := pw == ""
	if generated {
		pw = account.RandomPassword(12)
	}
	if *nickname == "" {
		*nickname = *username
	}
	id, err := a.Accounts.EnsureUser(ctx, account.NewUser{Username: *username, Password: pw, Role: *role,
		Nickname: *nickname, RegionID: regionID, ScopeRegionID: scopeID, AgeBand: "18_29"})
	if err != nil {
		return fmt.Errorf("user create: %w", err)
	}
	fmt.Fprintf(stdout, "user %d %s (%s) ready\n", id, *username, *role)
	if generated {
		fmt.Fprintf(stdout, "password: %s\n", pw)
	}
	return nil
}

func regionByCode(ctx context.Context, a *app.App, code string) (int64, error) {
	var id int64
	if err := a.DB.QueryRow(ctx, `SELECT id FROM regions WHERE code = $1`, code).Scan(&id); err != nil {
		return 0, fmt.Errorf("region %q not found (run `kepu seed` first?): %w", code, err)
	}
	return id, nil
}
