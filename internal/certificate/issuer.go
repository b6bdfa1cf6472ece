package certificate

// The issuing organization (cert_issuer, one row): the name every
// certificate gives as its issuer (e.g. 常德市科学技术协会) and its seal,
// a PNG or JPEG image an admin uploads, kept in Postgres and drawn on the
// certificate image and the share card.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // seals may be JPEG
	_ "image/png"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Limits of the issuer's name and seal.
const (
	MaxIssuerName = 40          // runes
	MaxSealBytes  = 512 << 10   // bytes of the uploaded file
	MinSealSide   = 64          // pixels
	MaxSealSide   = 2048        // pixels
	maxSealPixels = 2048 * 2048 // decoded size bound (about 16 MB RGBA)
)

// Issuer is the issuing organization as pages show it.
type Issuer struct {
	Name      string    `json:"name"`     // "" until an admin sets it (pages then name the site)
	HasSeal   bool      `json:"has_seal"` // a seal image is stored
	Version   int       `json:"version"`  // grows with every change
	UpdatedAt time.Time `json:"updated_at"`
}

// Issuers reads and changes the issuer. Changes are for admins and are
// audited in their transaction.
type Issuers struct {
	DB *pgxpool.Pool
}

// Get returns the issuer.
func (s *Issuers) Get(ctx context.Context) (Issuer, error) {
	var is Issuer
	err := s.DB.QueryRow(ctx, `SELECT name, seal IS NOT NULL, version, updated_at FROM cert_issuer WHERE id = 1`).
		Scan(&is.Name, &is.HasSeal, &is.Version, &is.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Issuer{}, nil
	}
	if err != nil {
		return Issuer{}, fmt.Errorf("certificate: issuer: %w", err)
	}
	return is, nil
}

// Seal returns the stored seal file and its content type;
// kepu.NotFound when there is none.
func (s *Issuers) Seal(ctx context.Context) ([]byte, string, error) {
	var data []byte
	var typ *string
	err := s.DB.QueryRow(ctx, `SELECT seal, seal_type FROM cert_issuer WHERE id = 1`).Scan(&data, &typ)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, "", fmt.Errorf("certificate: seal: %w", err)
	}
	if data == nil || typ == nil {
		return nil, "", kepu.NotFound("error.accounts_seal_none")
	}
	return data, *typ, nil
}

// SealImage returns the decoded seal, nil when there is none.
func (s *Issuers) SealImage(ctx context.Context) (image.Image, error) {
	data, _, err := s.Seal(ctx)
	if kepu.ErrorCode(err) == kepu.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("certificate: stored seal: %w", err)
	}
	return img, nil
}

// CleanIssuerName trims the name and checks it: at most MaxIssuerName
// characters, no control or format characters; "" clears it.
func CleanIssuerName(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	if utf8.RuneCountInString(name) > MaxIssuerName {
		return "", kepu.Invalid("name", "error.accounts_issuer_name").With("max", MaxIssuerName)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", kepu.Invalid("name", "error.accounts_issuer_name").With("max", MaxIssuerName)
		}
	}
	return name, nil
}

// CheckSeal validates an uploaded seal: at most MaxSealBytes, a PNG or
// JPEG image (by its content, whatever the client claimed) whose sides
// are MinSealSide–MaxSealSide pixels and which decodes completely. It
// returns the content type. Errors are kepu.ETOOLARGE or kepu.EINVALID on
// "seal".
func CheckSeal(data []byte) (string, error) {
	if len(data) > MaxSealBytes {
		return "", kepu.Errorf(kepu.ETOOLARGE, "error.accounts_seal_size").With("kb", MaxSealBytes>>10).OnField("seal")
	}
	bad := kepu.Invalid("seal", "error.accounts_seal_bad").With("min", MinSealSide).With("max", MaxSealSide)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "png" && format != "jpeg") {
		return "", bad
	}
	if cfg.Width < MinSealSide || cfg.Height < MinSealSide || cfg.Width > MaxSealSide || cfg.Height > MaxSealSide ||
		cfg.Width*cfg.Height > maxSealPixels {
		return "", bad
	}
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		return "", bad
	}
	return "image/" + format, nil
}

func requireAdmin(a kepu.Actor) error {
	if !a.IsAdmin() {
		return kepu.Forbidden
	}
	return nil
}

// SetName sets the issuer's name (admins only; "" clears it).
func (s *Issuers) SetName(ctx context.Context, a kepu.Actor, name string) (Issuer, error) {
	if err := requireAdmin(a); err != nil {
		return Issuer{}, err
	}
	name, err := CleanIssuerName(name)
	if err != nil {
		return Issuer{}, err
	}
	return s.update(ctx, a, "certificate.issuer_name", map[string]any{"name": name},
		`UPDATE cert_issuer SET name = $2, version = version + 1, updated_at = now(), updated_by = $1 WHERE id = 1`, a.UserID, name)
}

// SetSeal stores a new seal (admins only), checked by CheckSeal.
func (s *Issuers) SetSeal(ctx context.Context, a kepu.Actor, data []byte) (Issuer, error) {
	if err := requireAdmin(a); err != nil {
		return Issuer{}, err
	}
	typ, err := CheckSeal(data)
	if err != nil {
		return Issuer{}, err
	}
	return s.update(ctx, a, "certificate.seal", map[string]any{"bytes": len(data), "type": typ},
		`UPDATE cert_issuer SET seal = $2, seal_type = $3, version = version + 1, updated_at = now(), updated_by = $1 WHERE id = 1`,
		a.UserID, data, typ)
}

// DeleteSeal removes the seal (admins only).
func (s *Issuers) DeleteSeal(ctx context.Context, a kepu.Actor) (Issuer, error) {
	if err := requireAdmin(a); err != nil {
		return Issuer{}, err
	}
	return s.update(ctx, a, "certificate.seal_delete", nil,
		`UPDATE cert_issuer SET seal = NULL, seal_type = NULL, version = version + 1, updated_at = now(), updated_by = $1 WHERE id = 1`, a.UserID)
}

// update runs one change of the row with its audit entry.
func (s *Issuers) update(ctx context.Context, a kepu.Actor, action string, detail map[string]any, sql string, args ...any) (Issuer, error) {
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO cert_issuer (id) VALUES (1) ON CONFLICT DO NOTHING`); err != nil {
			return fmt.Errorf("certificate: issuer: %w", err)
		}
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("certificate: issuer: %w", err)
		}
		return audit.Record(ctx, tx, a.UserID, action, "certificate:issuer", detail, a.IP)
	})
	if err != nil {
		return Issuer{}, err
	}
	return s.Get(ctx)
}
