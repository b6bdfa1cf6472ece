package bank

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"image"
	_ "image/gif" // decoders for image.DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"strconv"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Image limits.
const (
	MaxImageBytes = 1 << 20 // 1 MiB
	MaxImageSide  = 4096    // pixels
	MinImageSide  = 16
)

// ImageURL is where the server serves image id to anyone
// (GET /api/v1/bank/images/{id}): question images and campaign covers.
func ImageURL(id int64) string { return "/api/v1/bank/images/" + strconv.FormatInt(id, 10) }

// Image is a stored question image (its bytes are served by the app).
type Image struct {
	ID     int64  `json:"id"`
	Mime   string `json:"mime"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	SHA256 []byte `json:"-"`
	Data   []byte `json:"-"`
}

// sniffImage returns the MIME type that the file's magic bytes announce:
// PNG, JPEG or GIF; anything else is "" (WebP is not accepted: the standard
// library cannot check it).
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	}
	return ""
}

// CheckImage checks an uploaded image: at most MaxImageBytes, a PNG, JPEG
// or GIF by its magic bytes whose header decodes to the same format, with
// sides between MinImageSide and MaxImageSide pixels.
func CheckImage(b []byte) (Image, error) {
	if len(b) > MaxImageBytes {
		return Image{}, kepu.Errorf(kepu.ETOOLARGE, "error.bank_image_size").With("max", "1 MiB").OnField("image")
	}
	mime := sniffImage(b)
	if mime == "" {
		return Image{}, kepu.Errorf(kepu.EUNSUPPORTED, "error.bank_image_type").OnField("image")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || "image/"+format != mime {
		return Image{}, kepu.Invalid("image", "error.bank_image_type")
	}
	if cfg.Width < MinImageSide || cfg.Height < MinImageSide || cfg.Width > MaxImageSide || cfg.Height > MaxImageSide {
		return Image{}, kepu.Invalid("image", "error.bank_image_dimensions").With("min", MinImageSide).With("max", MaxImageSide)
	}
	sum := sha256.Sum256(b)
	return Image{Mime: mime, Width: cfg.Width, Height: cfg.Height, SHA256: sum[:], Data: b}, nil
}

// SaveImage checks and stores an image for the actor's questions; the same
// bytes uploaded twice are stored once. Only organizers and admins upload.
func (s *Service) SaveImage(ctx context.Context, a kepu.Actor, b []byte) (Image, error) {
	if !CanEdit(a) {
		return Image{}, kepu.Forbidden
	}
	img, err := CheckImage(b)
	if err != nil {
		return Image{}, err
	}
	err = s.DB.QueryRow(ctx, `INSERT INTO images (sha256, mime, data, width, height, created_by)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (sha256) DO UPDATE SET sha256 = EXCLUDED.sha256 RETURNING id`,
		img.SHA256, img.Mime, img.Data, img.Width, img.Height, nullID(a.UserID)).Scan(&img.ID)
	if err != nil {
		return Image{}, fmt.Errorf("bank: save image: %w", err)
	}
	return img, nil
}

// ImagePrivacy says who may fetch an image: private is true when only
// private questions use it (no other question version, no campaign cover),
// and owners are the banks (regions) of those questions. A private image is
// for admins, organizers whose scope holds one of the owners, and
// participants who were shown a question with it; the server decides.
func (s *Service) ImagePrivacy(ctx context.Context, id int64) (private bool, owners []int64, err error) {
	err = s.DB.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT q.owner_region_id) FILTER (WHERE q.private), '{}'),
			count(*) FILTER (WHERE NOT q.private) = 0 AND count(*) FILTER (WHERE q.private) > 0
			AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.cover_image_id = $1)
		FROM question_versions v JOIN questions q ON q.id = v.question_id WHERE v.image_id = $1`, id).Scan(&owners, &private)
	if err != nil {
		return false, nil, fmt.Errorf("bank: image privacy %d: %w", id, err)
	}
	return private, owners, nil
}

// LoadImage returns a stored image with its bytes, whoever asks: the caller
// checks ImagePrivacy first (participants see images with the question).
func (s *Service) LoadImage(ctx context.Context, id int64) (Image, error) {
	img := Image{ID: id}
	err := s.DB.QueryRow(ctx, `SELECT mime, width, height, sha256, data FROM images WHERE id = $1`, id).
		Scan(&img.Mime, &img.Width, &img.Height, &img.SHA256, &img.Data)
	if postgres.IsNotFound(err) {
		return Image{}, kepu.NotFound("error.bank_image_missing")
	}
	if err != nil {
		return Image{}, fmt.Errorf("bank: image %d: %w", id, err)
	}
	return img, nil
}
