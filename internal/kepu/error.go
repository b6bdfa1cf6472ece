// Package kepu holds the domain types shared by every feature package:
// the one error type with its codes, and small value types such as roles.
// It imports no framework.
package kepu

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps each to one status in one place
// (internal/server/errors.go).
const (
	EINVALID      = "invalid_input" // 400: the request itself is wrong
	EUNAUTHORIZED = "unauthorized"  // 401: not logged in, or bad credentials
	EFORBIDDEN    = "forbidden"     // 403: logged in but outside scope/role
	ENOTFOUND     = "not_found"     // 404
	ECONFLICT     = "conflict"      // 409: duplicate, wrong state
	ETOOLARGE     = "too_large"     // 413
	ERATELIMIT    = "rate_limited"  // 429
	EINTERNAL     = "internal"      // 500: never shown to users in detail
	EGONE         = "gone"          // 410: expired (rooms, deadlines)
	EUNSUPPORTED  = "unsupported"   // 415: wrong content type
	ECSRF         = "csrf"          // 403: missing or bad CSRF token
	ELOCKED       = "locked"        // 423: account disabled or locked
	EUNAVAILABLE  = "unavailable"   // 503: a dependency (Redis) is down; Retry-After
)

// Error is an application error that is safe to show to the user.
// Key names a message in the locale files (web/locales/*/*.json); Params fill
// its {placeholders}. Field, when set, names the input field at fault.
type Error struct {
	Code   string
	Key    string
	Params map[string]any
	Field  string
	Err    error // underlying cause; logged, never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Key, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Key)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and message key.
func Errorf(code, key string) *Error { return &Error{Code: code, Key: key} }

// With returns a copy of e with one more message parameter.
func (e *Error) With(name string, value any) *Error {
	c := *e
	c.Params = make(map[string]any, len(e.Params)+1)
	for k, v := range e.Params {
		c.Params[k] = v
	}
	c.Params[name] = value
	return &c
}

// OnField returns a copy of e that names the input field at fault.
func (e *Error) OnField(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// Msg is a message parameter that is itself a message: a locale key with
// its own parameters, translated into the reader's language when the outer
// message is (internal/i18n). Use it to name things that have a label, such
// as a question category, instead of passing the raw key.
type Msg struct {
	Key    string
	Params map[string]any
}

// Message returns the key and parameters (internal/i18n.Nested).
func (m Msg) Message() (string, map[string]any) { return m.Key, m.Params }

// Invalid is shorthand for an EINVALID error on one field.
func Invalid(field, key string) *Error {
	return &Error{Code: EINVALID, Key: key, Field: field}
}

// NotFound is shorthand for an ENOTFOUND error.
func NotFound(key string) *Error { return &Error{Code: ENOTFOUND, Key: key} }

// Forbidden is the one error every scope check returns.
var Forbidden = &Error{Code: EFORBIDDEN, Key: "error.forbidden"}
