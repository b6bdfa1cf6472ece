package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"syscall"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/rdb"
)

// statusOf maps every error code to its one HTTP status.
var statusOf = map[string]int{
	kepu.EINVALID:      fiber.StatusBadRequest,
	kepu.EUNAUTHORIZED: fiber.StatusUnauthorized,
	kepu.EFORBIDDEN:    fiber.StatusForbidden,
	kepu.ECSRF:         fiber.StatusForbidden,
	kepu.ENOTFOUND:     fiber.StatusNotFound,
	kepu.ECONFLICT:     fiber.StatusConflict,
	kepu.EGONE:         fiber.StatusGone,
	kepu.ETOOLARGE:     fiber.StatusRequestEntityTooLarge,
	kepu.EUNSUPPORTED:  fiber.StatusUnsupportedMediaType,
	kepu.ELOCKED:       fiber.StatusLocked,
	kepu.ERATELIMIT:    fiber.StatusTooManyRequests,
	kepu.EUNAVAILABLE:  fiber.StatusServiceUnavailable,
	kepu.EINTERNAL:     fiber.StatusInternalServerError,
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// handleError is Fiber's one ErrorHandler: it turns a coded error into its
// status and a message in the user's language. Anything else is an internal
// error: logged with the request id, shown as a generic message.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	var ke *kepu.Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &ke):
	case errors.As(err, &fe):
		ke = fromFiber(fe)
	default:
		if ke = dependencyError(err); ke == nil {
			ke = &kepu.Error{Code: kepu.EINTERNAL, Key: "error.internal", Err: err}
		}
	}
	status := statusOf[ke.Code]
	if status == 0 {
		status = fiber.StatusInternalServerError
	}
	rid := requestID(c)
	params := ke.Params
	if ke.Code == kepu.EINTERNAL {
		s.log.Error("internal error", "request_id", rid, "method", c.Method(), "path", c.Path(), "err", err)
		params = map[string]any{"request_id": rid}
	} else if ke.Code == kepu.EUNAVAILABLE {
		s.log.Warn("dependency unavailable", "request_id", rid, "method", c.Method(), "path", c.Path(), "err", ke.Err)
	} else if ke.Err != nil {
		s.log.Debug("request error", "request_id", rid, "code", ke.Code, "err", ke.Err)
	}
	if ke.Code == kepu.ERATELIMIT || ke.Code == kepu.EUNAVAILABLE {
		if secs, ok := ke.Params["seconds"]; ok {
			c.Set(fiber.HeaderRetryAfter, toString(secs))
		}
	}
	lang := langOf(c)
	msg := s.i18n.T(lang, ke.Key, params)
	if wantsHTML(c) {
		return s.renderError(c, status, msg)
	}
	c.Status(status)
	return c.JSON(errorBody{Error: errorDetail{Code: ke.Code, Message: msg, Field: ke.Field, RequestID: rid}})
}

// Retry-After, in seconds, of a dependency that timed out (busy) or did
// not answer (unavailable).
const (
	busyRetry        = 2
	unavailableRetry = 5
)

// dependencyError turns a failure of Postgres or Redis that no feature
// coded into a 503 with Retry-After: "busy" when the wait ran out (the
// request's deadline, statement_timeout, lock_timeout, a full pool),
// or a transaction lost a deadlock or a serialization conflict), "unavailable"
// when the server did not answer (refused or dropped
// connection, shutdown). Anything else is nil: a real internal error.
func dependencyError(err error) *kepu.Error {
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		switch {
		case pe.Code == "57014" || pe.Code == "55P03" || pe.Code == "53300", // query_canceled, lock_not_available, too_many_connections
			pe.Code == "40P01" || pe.Code == "40001": // deadlock_detected, serialization_failure: the retry succeeds
			return (&kepu.Error{Code: kepu.EUNAVAILABLE, Key: "error.busy", Err: err}).With("seconds", busyRetry)
		case strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P"): // connection exception, shutdown
			return (&kepu.Error{Code: kepu.EUNAVAILABLE, Key: "error.unavailable", Err: err}).With("seconds", unavailableRetry)
		}
		return nil
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, redis.ErrPoolTimeout), pgconn.Timeout(err):
		return (&kepu.Error{Code: kepu.EUNAVAILABLE, Key: "error.busy", Err: err}).With("seconds", busyRetry)
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, redis.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		rdb.Unavailable(err):
		return (&kepu.Error{Code: kepu.EUNAVAILABLE, Key: "error.unavailable", Err: err}).With("seconds", unavailableRetry)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return (&kepu.Error{Code: kepu.EUNAVAILABLE, Key: "error.unavailable", Err: err}).With("seconds", unavailableRetry)
	}
	return nil
}

func fromFiber(fe *fiber.Error) *kepu.Error {
	switch fe.Code {
	case fiber.StatusNotFound:
		return kepu.NotFound("error.not_found")
	case fiber.StatusRequestEntityTooLarge:
		return kepu.Errorf(kepu.ETOOLARGE, "error.body_too_large").With("max", "16 MiB")
	case fiber.StatusMethodNotAllowed:
		return kepu.NotFound("error.not_found")
	case fiber.StatusUnsupportedMediaType:
		return kepu.Errorf(kepu.EUNSUPPORTED, "error.unsupported_type")
	case fiber.StatusTooManyRequests:
		return kepu.Errorf(kepu.ERATELIMIT, "error.rate_limited").With("seconds", 60)
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return kepu.Invalid("", "error.invalid_json").With("detail", fe.Message)
	}
	return &kepu.Error{Code: kepu.EINTERNAL, Key: "error.internal", Err: fe}
}

// wantsHTML reports whether the error should be a page rather than JSON:
// only for GET requests outside /api/ whose client accepts HTML.
func wantsHTML(c *fiber.Ctx) bool {
	if strings.HasPrefix(c.Path(), "/api/") || c.Method() != fiber.MethodGet {
		return false
	}
	return strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
}

// decodeJSON parses the request body into v strictly: JSON content type, at
// most max bytes, no unknown fields, no trailing data, every integer within
// int4 (params.go). Each failure is a 4xx with a message that says what is
// wrong.
func decodeJSON(c *fiber.Ctx, v any, max int) error {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) {
		return kepu.Errorf(kepu.EUNSUPPORTED, "error.unsupported_type")
	}
	body := c.Body()
	if len(body) > max {
		return kepu.Errorf(kepu.ETOOLARGE, "error.body_too_large").With("max", byteSize(max))
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return kepu.Invalid("", "error.invalid_json").With("detail", se.Error())
		case errors.As(err, &te):
			return kepu.Invalid(te.Field, "error.invalid_json").With("detail", te.Field+": "+te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return kepu.Invalid(f, "error.unknown_field").With("field", f)
		default:
			return kepu.Invalid("", "error.invalid_json").With("detail", err.Error())
		}
	}
	if dec.More() {
		return kepu.Invalid("", "error.invalid_json").With("detail", "trailing data")
	}
	return checkIntRanges(reflect.ValueOf(v), "")
}

// Body size limits for JSON requests.
const (
	smallBody = 16 << 10
	largeBody = 1 << 20
)

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return toString(n>>20) + " MiB"
	case n >= 1<<10:
		return toString(n>>10) + " KiB"
	}
	return toString(n) + " B"
}
